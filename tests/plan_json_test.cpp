// Plan JSON tests: exact round trips of lowered plans, deterministic output, the exact
// diagnostic for each kind of bad input (with its JSON path), and parse speed on a
// 200,000-task plan.
#include <gtest/gtest.h>

#include <chrono>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "plan/plan_json.h"
#include "test_util.h"

namespace tessera {
namespace {

using nlohmann::json;

// Plan::operator== is unusable while Buffer has no operator== (plan.h, reported to the
// lead); compare buffers field by field and the rest with the members' own ==.
bool same_plan(const Plan& a, const Plan& b) {
  if (a.buffers.size() != b.buffers.size()) return false;
  for (size_t i = 0; i < a.buffers.size(); ++i) {
    const Buffer &x = a.buffers[i], &y = b.buffers[i];
    if (x.id != y.id || x.name != y.name || x.kind != y.kind || x.dtype != y.dtype || x.shape != y.shape ||
        x.weight != y.weight)
      return false;
  }
  return a.model == b.model && a.context == b.context && a.target == b.target && a.resources == b.resources &&
         a.config == b.config && a.counters == b.counters && a.tasks == b.tasks && a.queues == b.queues &&
         a.outputs == b.outputs && a.token_input == b.token_input && a.token_output == b.token_output;
}

Plan tiny_plan(std::initializer_list<const char*> knobs = {}) {
  LowerConfig k;
  for (const char* s : knobs) k.set(s);
  return lower(shape_config("tiny"), target_preset("sm_90a"), k, 0, "tiny");
}

TEST(PlanJson, RoundTripsLoweredPlans) {
  struct Case {
    const char* shape;
    std::vector<const char*> knobs;
  };
  const Case cases[] = {{"tiny", {}},
                        {"tiny", {"kv_splits=3", "fuse_norm=false", "sms=5"}},
                        {"qwen2.5-0.5b", {"kv_splits=2"}},
                        {"qwen3-0.6b", {"counter_granularity=op", "weight_dtype=f32"}},
                        {"stories260k", {"queue_order=round_robin", "rows=16"}},
                        {"tiny", {"threads=128", "rows_per_warp=1"}}};
  for (const Case& c : cases) {
    LowerConfig k;
    for (const char* s : c.knobs) k.set(s);
    Plan p = lower(shape_config(c.shape), target_preset("sm_86"), k, 0, c.shape);
    const std::string text = plan_to_json(p);
    Plan back = parse_plan_json(text, "rt.json");
    EXPECT_TRUE(same_plan(back, p)) << c.shape;
    EXPECT_EQ(plan_to_json(back), text) << "writer is not deterministic";
  }
}

TEST(PlanJson, SaveAndLoad) {
  test::TempDir tmp;
  Plan p = tiny_plan({"kv_splits=2"});
  save_plan(p, tmp.file("p.json"));
  EXPECT_TRUE(same_plan(load_plan(tmp.file("p.json")), p));
  try {
    load_plan(tmp.file("missing.json"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), tmp.file("missing.json") + ": cannot open plan file");
  }
}

TEST(PlanJson, LayoutOfOneTask) {
  // Known layout: ids, op names, only non-default params, bounds as ints or {c, pos}.
  Plan p = tiny_plan({"kv_splits=2"});
  json doc = json::parse(plan_to_json(p));
  EXPECT_EQ(doc["format"], "tessera-plan");
  EXPECT_EQ(doc["version"], "1.0");
  EXPECT_EQ(doc["model"], "tiny");
  EXPECT_EQ(doc["context"], 256);
  EXPECT_EQ(doc["target"]["sms"], 132);
  const json* attn = nullptr;
  for (const json& t : doc["tasks"])
    if (t["op"] == "attn_partial" && t["params"].value("split", 0) == 1) {
      attn = &t;
      break;
    }
  ASSERT_NE(attn, nullptr);
  // kv head 0, split 1 of 2, chunk 128: declares the k cache rows [0, min(pos + 1, 256)) any
  // split may read (its run moves with pos), columns [0, 16).
  EXPECT_EQ((*attn)["reads"][1]["dims"], json::parse(R"([[0, {"c": 1, "pos": 1}, 256], [0, 16]])"));
  EXPECT_EQ((*attn)["params"]["chunk"], 128);
  EXPECT_FALSE((*attn)["params"].contains("norm"));  // -1 is the default: not written
  EXPECT_FALSE((*attn)["params"].contains("eps"));
}

// Replaces the value at a JSON pointer and returns the parse error.
std::string error_after(const std::string& pointer, const json& value, const Plan& p) {
  json doc = json::parse(plan_to_json(p));
  if (value.is_discarded()) {
    json::json_pointer ptr(pointer);
    doc[ptr.parent_pointer()].erase(ptr.back());
  } else {
    doc[json::json_pointer(pointer)] = value;
  }
  try {
    parse_plan_json(doc.dump(), "plan.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

std::string error_of(const std::string& text) {
  try {
    parse_plan_json(text, "plan.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(PlanJson, Diagnostics) {
  const Plan p = tiny_plan({"kv_splits=2"});
  const json removed = json(json::value_t::discarded);
  // Find a task with a wait and one with three-element dims.
  int waiter = -1;
  for (const Task& t : p.tasks)
    if (!t.waits.empty() && waiter < 0) waiter = t.id;
  ASSERT_GE(waiter, 0);
  const std::string w = "/tasks/" + std::to_string(waiter);
  const std::string ws = "tasks[" + std::to_string(waiter) + "]";

  EXPECT_EQ(error_of("{"), error_of("{"));  // stable
  EXPECT_EQ(error_of("{").rfind("plan.json: not valid JSON: ", 0), 0u) << error_of("{");
  EXPECT_EQ(error_of("[]"), "plan.json: expected an object, got array");
  EXPECT_EQ(error_after("/format", "other", p), "plan.json: format: expected \"tessera-plan\", got 'other'");
  EXPECT_EQ(error_after("/version", "2.0", p),
            "plan.json: plan format version 2.0 is newer than this tessera understands (1.x); upgrade tessera");
  EXPECT_EQ(error_after("/version", "1.7", p), "(accepted)");  // newer minor: read
  EXPECT_EQ(error_after("/version", "0.9", p), "plan.json: plan format version 0.9 is older than this tessera reads (1.x)");
  EXPECT_EQ(error_after("/version", "1", p), "plan.json: version: expected \"MAJOR.MINOR\", got '1'");
  EXPECT_EQ(error_after("/version", 1, p), "plan.json: version: expected a string, got number");
  EXPECT_EQ(error_after("/context", removed, p), "plan.json: missing field 'context'");
  // rows_per_warp came with format 1.0's plans already written: absent means 2.
  EXPECT_EQ(error_after("/resources/rows_per_warp", removed, p), "(accepted)");
  {
    json doc = json::parse(plan_to_json(tiny_plan({"rows_per_warp=1"})));
    EXPECT_EQ(parse_plan_json(doc.dump(), "p.json").resources.rows_per_warp, 1);
    doc["resources"].erase("rows_per_warp");
    EXPECT_EQ(parse_plan_json(doc.dump(), "p.json").resources.rows_per_warp, 2);
  }
  EXPECT_EQ(error_after("/resources/rows_per_warp", 3, p), "plan.json: resources.rows_per_warp: 3 is outside [1, 2]");
  EXPECT_EQ(error_after("/context", 0, p), "plan.json: context: 0 is outside [1, 2147483647]");
  EXPECT_EQ(error_after("/context", 1.5, p), "plan.json: context: expected an integer, got a non-integer number");
  EXPECT_EQ(error_after("/target/sms", "many", p), "plan.json: target.sms: expected an integer, got string");
  EXPECT_EQ(error_after("/resources", json::array(), p), "plan.json: resources: expected an object, got array");
  EXPECT_EQ(error_after("/config", 3, p), "plan.json: config: expected an object, got number");
  json deep = json::array();
  for (int i = 0; i < 40; ++i) deep = json::array({deep});
  EXPECT_EQ(error_after("/config", json{{"x", deep}}, p), "plan.json: config: nested deeper than 32 levels");
  EXPECT_EQ(error_after("/buffers/3/shape/0", 0, p), "plan.json: buffers[3].shape[0]: 0 is outside [1, 1099511627775]");
  EXPECT_EQ(error_after("/buffers/3/shape", json::array({int64_t(1) << 40}), p),
            "plan.json: buffers[3].shape[0]: 1099511627776 is outside [1, 1099511627775]");
  EXPECT_EQ(error_after("/buffers/3/shape", json::array({int64_t(1) << 30, int64_t(1) << 20}), p),
            "plan.json: buffers[3].shape: 281474976710656 elements or more (at most 2^48 - 1)");
  EXPECT_EQ(error_after("/buffers/3/shape", json::array(), p), "plan.json: buffers[3].shape: rank 0 is outside [1, 8]");
  EXPECT_EQ(error_after("/buffers/3/kind", "scratch", p),
            "plan.json: buffers[3].kind: unknown buffer kind 'scratch' (known: weight, constant, input, state, activation, output)");
  EXPECT_EQ(error_after("/buffers/3/dtype", "f16", p), "plan.json: buffers[3].dtype: unknown dtype 'f16' (known: f32, bf16, i32)");
  EXPECT_EQ(error_after("/buffers/3/weight", 7, p), "plan.json: buffers[3].weight: expected a string, got number");
  EXPECT_EQ(error_after("/buffers/3/id", -2, p), "plan.json: buffers[3].id: -2 is outside [0, 2147483647]");
  EXPECT_EQ(error_after("/counters/0/name", removed, p), "plan.json: counters[0]: missing field 'name'");
  EXPECT_EQ(error_after(w + "/waits/0/threshold", "6", p), "plan.json: " + ws + ".waits[0].threshold: expected an integer, got string");
  EXPECT_EQ(error_after(w + "/waits/0/threshold", 0, p), "plan.json: " + ws + ".waits[0].threshold: 0 is outside [1, 2147483647]");
  EXPECT_EQ(error_after(w + "/waits/0/threshold", int64_t(1) << 31, p),
            "plan.json: " + ws + ".waits[0].threshold: 2147483648 is outside [1, 2147483647]");
  EXPECT_EQ(error_after(w + "/waits/0/counter", -1, p), "plan.json: " + ws + ".waits[0].counter: -1 is outside [0, 2147483647]");
  EXPECT_EQ(error_after(w + "/signals/0/inc", 0, p), "plan.json: " + ws + ".signals[0].inc: 0 is outside [1, 2147483647]");
  EXPECT_EQ(error_after(w + "/signals", json::object(), p), "plan.json: " + ws + ".signals: expected an array, got object");
  EXPECT_EQ(error_after(w + "/op", "gemm", p),
            "plan.json: " + ws + ".op: unknown opcode 'gemm' (known: embed, rmsnorm, norm_matvec, attn_partial, "
            "attn_combine, lm_head_argmax, argmax_reduce, attn_matvec)");
  EXPECT_EQ(error_after(w + "/sm", -1, p), "plan.json: " + ws + ".sm: -1 is outside [0, 2147483647]");
  EXPECT_EQ(error_after(w + "/params/in", -2, p), "plan.json: " + ws + ".params.in: -2 is outside [-1, 2147483647]");
  EXPECT_EQ(error_after(w + "/params/row_end", int64_t(1) << 50, p),
            "plan.json: " + ws + ".params.row_end: 1125899906842624 is outside [0, 281474976710656]");
  EXPECT_EQ(error_after(w + "/params/out_at_pos", 1, p), "plan.json: " + ws + ".params.out_at_pos: expected true or false, got number");
  EXPECT_EQ(error_after(w + "/params/eps", -1, p), "plan.json: " + ws + ".params.eps: -1 is outside (0, 1)");
  EXPECT_EQ(error_after(w + "/params/eps", "small", p), "plan.json: " + ws + ".params.eps: expected a number, got string");
  EXPECT_EQ(error_after(w + "/reads/0/dims/0", json::array({0}), p),
            "plan.json: " + ws + ".reads[0].dims[0]: expected [lo, hi] or [lo, hi, cap], got 1 elements");
  EXPECT_EQ(error_after(w + "/reads/0/dims/0/1", json{{"c", 1}, {"pos", 2}}, p),
            "plan.json: " + ws + ".reads[0].dims[0][1].pos: 2 is outside [0, 1]");
  EXPECT_EQ(error_after(w + "/reads/0/dims/0/1", json{{"pos", 1}}, p),
            "plan.json: " + ws + ".reads[0].dims[0][1]: missing field 'c'");
  EXPECT_EQ(error_after(w + "/reads/0/dims/0/0", "0", p),
            "plan.json: " + ws + ".reads[0].dims[0][0]: expected an integer or {\"c\": C, \"pos\": K}, got string");
  EXPECT_EQ(error_after(w + "/reads/0/dims/0/0", int64_t(1) << 49, p),
            "plan.json: " + ws + ".reads[0].dims[0][0]: 562949953421312 is outside [-281474976710656, 281474976710656]");
  EXPECT_EQ(error_after(w + "/writes/0/buf", removed, p), "plan.json: " + ws + ".writes[0]: missing field 'buf'");
  EXPECT_EQ(error_after("/queues/0/0", -5, p), "plan.json: queues[0][0]: -5 is outside [0, 2147483647]");
  EXPECT_EQ(error_after("/queues/0", 3, p), "plan.json: queues[0]: expected an array, got number");
  EXPECT_EQ(error_after("/outputs", json::array({-1}), p), "plan.json: outputs[0]: -1 is outside [0, 2147483647]");
  EXPECT_EQ(error_after("/token_output", -2, p), "plan.json: token_output: -2 is outside [-1, 2147483647]");
  // Unknown fields are ignored (a newer minor version may add them).
  EXPECT_EQ(error_after("/tasks/0/priority", 3, p), "(accepted)");
  EXPECT_EQ(error_after("/tasks/0/params/vector_width", 8, p), "(accepted)");
  // Range checks against counts are the validator's: an out-of-range id parses.
  EXPECT_EQ(error_after(w + "/waits/0/counter", 99999, p), "(accepted)");
}

TEST(PlanJson, ParsesA200kTaskPlanQuickly) {
  LowerConfig k;
  for (const char* s : {"qkv_heads_per_task=1", "rows=4", "kv_splits=8"}) k.set(s);
  Plan p = lower(shape_config("llama-3-8b"), target_preset("sm_90a"), k, 0, "llama-3-8b");
  ASSERT_GE(p.tasks.size(), 200000u);
  auto t0 = std::chrono::steady_clock::now();
  const std::string text = plan_to_json(p);
  auto t1 = std::chrono::steady_clock::now();
  Plan back = parse_plan_json(text, "big.json");
  auto t2 = std::chrono::steady_clock::now();
  const double write_s = std::chrono::duration<double>(t1 - t0).count();
  const double parse_s = std::chrono::duration<double>(t2 - t1).count();
  std::printf("%zu tasks, %.1f MB of JSON: write %.2f s, parse %.2f s\n", p.tasks.size(), double(text.size()) / 1e6,
              write_s, parse_s);
  EXPECT_TRUE(same_plan(back, p));
  EXPECT_LT(parse_s, 15.0);  // a few seconds on an idle 2-core machine; generous under load
}

}  // namespace
}  // namespace tessera

// The emulator on hand-built decode plans (emulate_plan_builder.h) against the CPU
// reference engine, across interleavings; planted races, stalls and bad inputs must give
// their diagnostics; the trace must be valid Chrome trace JSON with one track per block.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "emulate/emulator.h"
#include "engine/cpu_engine.h"
#include "engine/sampler.h"
#include "emulate_plan_builder.h"
#include "engine_test_models.h"
#include "test_util.h"

namespace tessera {
namespace {

ModelConfig small_config(int layers, int heads, int kv_heads, Arch arch = Arch::Llama) {
  ModelConfig c = test::tiny_config(arch);
  c.vocab_size = 64;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_layers = layers;
  c.num_heads = heads;
  c.num_kv_heads = kv_heads;
  c.head_dim = 16;
  return c;
}

double max_rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  double scale = 0, err = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, std::fabs(double(want[i])));
    err = std::max(err, std::fabs(double(got[i]) - double(want[i])));
  }
  return err / std::max(scale, 1e-30);
}

// Runs prompt + greedy steps on the engine and the emulator (teacher-forced with the
// engine's tokens); checks logits within tol and the plan's next token = engine argmax.
void expect_matches_engine(const Plan& plan, const Model& model, EmulatorOptions opt, double tol,
                           int positions = 8) {
  CpuEngine engine(model, plan.context, 1);
  Emulator emu(plan, model, opt);
  int token = 1;
  for (int pos = 0; pos < positions; ++pos) {
    const std::vector<float> want = engine.forward(token, pos);
    const std::vector<float>& got = emu.forward(token, pos);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_LE(max_rel_error(got, want), tol) << "seed " << opt.seed << " pos " << pos;
    const int ref = argmax(want);
    EXPECT_EQ(emu.next_token(), ref) << "seed " << opt.seed << " pos " << pos;
    token = pos < 2 ? 3 + pos : ref;  // a short prompt, then greedy
  }
}

TEST(EmulateEmulator, OneLayerPlanMatchesEngineOverTwentyInterleavings) {
  const Model model = test::make_model(small_config(1, 2, 2), 11);
  const Plan plan = test::build_decode_plan(model.config, {});
  for (uint64_t seed = 0; seed < 20; ++seed) {
    EmulatorOptions opt;
    opt.seed = seed;
    opt.threads = 2;
    expect_matches_engine(plan, model, opt, 1e-5);
  }
}

TEST(EmulateEmulator, InterleavingsGiveBitIdenticalLogits) {
  const Model model = test::make_model(small_config(2, 4, 2), 5);
  test::DecodePlanOptions po;
  po.kv_splits = 3;
  po.blocks = 5;
  const Plan plan = test::build_decode_plan(model.config, po);
  std::vector<float> first;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    EmulatorOptions opt;
    opt.seed = seed;
    Emulator emu(plan, model, opt);
    std::vector<float> all;
    for (int pos = 0; pos < 6; ++pos) {
      const auto& l = emu.forward(2 + pos, pos);
      all.insert(all.end(), l.begin(), l.end());
    }
    if (seed == 0) first = all;
    else EXPECT_EQ(all, first) << "seed " << seed;
  }
}

struct Variant {
  const char* name;
  Arch arch;
  bool tied;
  test::DecodePlanOptions opt;
};

TEST(EmulateEmulator, PlanVariantsMatchEngine) {
  std::vector<Variant> variants;
  test::DecodePlanOptions split;
  split.kv_splits = 3;
  split.blocks = 4;
  variants.push_back({"gqa split-kv", Arch::Llama, false, split});
  test::DecodePlanOptions unfused;
  unfused.fuse_norm = false;
  unfused.rows_per_task = 16;
  variants.push_back({"unfused norms", Arch::Llama, true, unfused});
  variants.push_back({"qwen2 bias", Arch::Qwen2, false, {}});
  test::DecodePlanOptions qk;
  qk.kv_splits = 2;
  qk.blocks = 7;
  variants.push_back({"qwen3 qk-norm", Arch::Qwen3, true, qk});
  test::DecodePlanOptions many;
  many.blocks = 1;
  many.lm_tiles = 5;
  many.embed_tiles = 3;
  variants.push_back({"one block", Arch::Llama, false, many});
  for (const Variant& v : variants) {
    SCOPED_TRACE(v.name);
    ModelConfig c = small_config(2, 4, 2, v.arch);
    c.tie_word_embeddings = v.tied;
    const Model model = test::make_model(c, 3);
    const Plan plan = test::build_decode_plan(c, v.opt);
    for (uint64_t seed = 0; seed < 4; ++seed) {
      EmulatorOptions opt;
      opt.seed = seed;
      expect_matches_engine(plan, model, opt, v.opt.kv_splits > 1 ? 1e-5 : 0.0, 10);
    }
  }
}

TEST(EmulateEmulator, GpuNumericsRoundsWeightsAndCachesToBf16) {
  // Weights already bf16-representable: with f32 caches the gpu mode computes the same
  // function as the engine; with bf16 caches it rounds k/v and so differs a little.
  const ModelConfig c = small_config(2, 4, 2);
  const Model model = test::make_model(c, 9, DType::F32, DType::BF16);
  test::DecodePlanOptions po;
  po.weight_dtype = BufDType::BF16;
  const Plan f32_cache = test::build_decode_plan(c, po);
  EmulatorOptions gpu;
  gpu.numerics = "gpu";
  expect_matches_engine(f32_cache, model, gpu, 0.0);

  po.kv_dtype = BufDType::BF16;
  const Plan bf16_cache = test::build_decode_plan(c, po);
  CpuEngine engine(model, po.context, 1);
  Emulator emu(bf16_cache, model, gpu), exact(bf16_cache, model, {});
  double worst = 0;
  for (int pos = 0; pos < 6; ++pos) {
    const std::vector<float> want = engine.forward(7, pos);
    EXPECT_EQ(max_rel_error(exact.forward(7, pos), want), 0.0) << "fp32 numerics ignore the plan's bf16";
    worst = std::max(worst, max_rel_error(emu.forward(7, pos), want));
  }
  EXPECT_GT(worst, 0.0);
  EXPECT_LT(worst, 2e-2);
}

// ---- diagnostics ----

std::string run_error(const Plan& plan, const Model& model, EmulatorOptions opt = {}, int steps = 3) {
  try {
    Emulator emu(plan, model, opt);
    for (int pos = 0; pos < steps; ++pos) emu.forward(1, pos);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

int32_t find_task(const Plan& plan, Op op, int32_t out) {
  for (const Task& t : plan.tasks)
    if (t.op == op && t.p.out == out) return t.id;
  return -1;
}

int32_t buffer_id(const Plan& plan, const std::string& name) {
  for (const Buffer& b : plan.buffers)
    if (b.name == name) return b.id;
  return -1;
}

TEST(EmulateEmulator, DroppedWaitIsCaughtNamingBothTasks) {
  const Model model = test::make_model(small_config(1, 2, 2), 4);
  test::DecodePlanOptions po;
  po.blocks = 4;
  Plan plan = test::build_decode_plan(model.config, po);
  // The o_proj tile no longer waits for attention: a race the static validator would reject.
  const int32_t attn = buffer_id(plan, "attn.0");
  const int32_t victim = find_task(plan, Op::NormMatvec, buffer_id(plan, "x_mid.0"));
  ASSERT_GE(victim, 0);
  auto& waits = plan.tasks[size_t(victim)].waits;
  const size_t before = waits.size();
  waits.erase(std::remove_if(waits.begin(), waits.end(),
                             [&](const Wait& w) { return plan.counters[size_t(w.counter)].name == "done:attn.0"; }),
              waits.end());
  ASSERT_EQ(waits.size(), before - 1);
  (void)attn;
  int races = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    EmulatorOptions opt;
    opt.seed = seed;
    const std::string err = run_error(plan, model, opt);
    ASSERT_FALSE(err.empty()) << "seed " << seed << ": the planted race went unnoticed";
    const std::string who = fmt::format("task {} (block {}, norm_matvec) reads", victim, plan.tasks[size_t(victim)].sm);
    EXPECT_NE(err.find(who), std::string::npos) << err;
    EXPECT_NE(err.find("buffer 'attn.0'"), std::string::npos) << err;
    if (err.rfind("race", 0) == 0) {
      ++races;
      EXPECT_NE(err.find("the write by task"), std::string::npos) << err;
      EXPECT_NE(err.find("attn_partial)"), std::string::npos) << err;
    } else {
      EXPECT_EQ(err.rfind("uninitialized read", 0), 0u) << err;
    }
  }
  EXPECT_GT(races, 0) << "no interleaving ran the reader after a writer";
}

TEST(EmulateEmulator, OverlappingWritesAreARaceInEveryInterleaving) {
  const Model model = test::make_model(small_config(1, 2, 2), 4);
  test::PlanBuilder b(8, 2);
  const int32_t tok = b.buffer("token", BufferKind::Input, BufDType::I32, {1});
  const int32_t emb = b.buffer("w:embed", BufferKind::Weight, BufDType::F32, {64, 32}, "model.embed_tokens.weight");
  const int32_t logits = b.buffer("logits", BufferKind::Output, BufDType::F32, {64});
  const int32_t next = b.buffer("next_token", BufferKind::Output, BufDType::I32, {1});
  b.plan().token_input = tok;
  b.plan().token_output = next;
  b.plan().outputs = {logits, next};
  const int32_t x = b.buffer("x", BufferKind::Activation, BufDType::F32, {32});
  TaskParams p;
  p.in = tok, p.w = emb, p.out = x, p.row_begin = 0, p.row_end = 20;
  const int32_t t0 = b.task(Op::Embed, p, {}, 0);
  p.row_begin = 16, p.row_end = 32;
  const int32_t t1 = b.task(Op::Embed, p, {}, 1);
  Plan plan = b.finish();
  for (uint64_t seed = 0; seed < 10; ++seed) {
    EmulatorOptions opt;
    opt.seed = seed;
    const std::string err = run_error(plan, model, opt, 1);
    const std::string a = fmt::format("task {} (block 0, embed)", t0), c = fmt::format("task {} (block 1, embed)", t1);
    EXPECT_EQ(err.rfind("race at step 0 (pos 0) on buffer 'x' element [16]: ", 0), 0u) << err;
    EXPECT_NE(err.find(a), std::string::npos) << err;
    EXPECT_NE(err.find(c), std::string::npos) << err;
    EXPECT_NE(err.find("earlier write"), std::string::npos) << err;
  }
}

TEST(EmulateEmulator, StallReportsBlockedTasksAndCounters) {
  const Model model = test::make_model(small_config(1, 2, 2), 4);
  Plan plan = test::build_decode_plan(model.config, {});
  // The argmax waits for one more LM-head tile than exists.
  Task& last = plan.tasks.back();
  ASSERT_EQ(last.op, Op::ArgmaxReduce);
  last.waits[0].threshold += 1;
  const std::string err = run_error(plan, model);
  const std::string want = fmt::format(
      "plan stalls at step 0 (pos 0): no task can run and 1 of {} tasks have not run\n  block {}: task {} "
      "(argmax_reduce) waits: counter {} 'done:logits' is 3, needs 4 (threshold 4 of 3 per step)",
      plan.tasks.size(), last.sm, last.id, last.waits[0].counter);
  EXPECT_EQ(err, want);
}

TEST(EmulateEmulator, ErrorsNameTheProblem) {
  const Model model = test::make_model(small_config(1, 2, 2), 4);
  const Plan plan = test::build_decode_plan(model.config, {});

  EmulatorOptions bad;
  bad.numerics = "fp16";
  EXPECT_EQ(run_error(plan, model, bad), "emulator numerics must be 'fp32' or 'gpu', got 'fp16'");

  Plan missing = plan;
  missing.buffers[size_t(buffer_id(plan, "w:model.norm.weight"))].weight = "model.nrm.weight";
  EXPECT_EQ(run_error(missing, model),
            "plan buffer 'w:model.norm.weight' binds weight 'model.nrm.weight', which model "
            "'tiny-test-model' does not have");

  Plan orphan = plan;
  orphan.queues[0].pop_back();
  EXPECT_EQ(run_error(orphan, model),
            fmt::format("plan 'hand-built': task {} is in no queue", plan.queues[0].back()));

  Emulator emu(plan, model);
  try {
    emu.forward(1, 1);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "position 1 is out of order: the emulator expects position 0 next");
  }
  try {
    emu.forward(64, 0);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "token id 64 is outside the vocabulary of 64 tokens");
  }
}

TEST(EmulateEmulator, UnwrittenOutputIsReported) {
  const Model model = test::make_model(small_config(1, 2, 2), 4);
  Plan plan = test::build_decode_plan(model.config, {});
  // Shrink the last LM-head tile by one row: logits[63] is never written.
  for (auto it = plan.tasks.rbegin(); it != plan.tasks.rend(); ++it)
    if (it->op == Op::LmHeadArgmax) {
      it->p.row_end -= 1;
      break;
    }
  EXPECT_EQ(run_error(plan, model),
            "output buffer 'logits' element [63] was not written by any task at step 0 (pos 0)");
}

TEST(EmulateEmulator, TraceHasOneTrackPerBlock) {
  const Model model = test::make_model(small_config(1, 2, 2), 4);
  test::DecodePlanOptions po;
  po.blocks = 4;
  const Plan plan = test::build_decode_plan(model.config, po);
  test::TempDir dir;
  EmulatorOptions opt;
  opt.trace_path = dir.file("trace.json");
  {
    Emulator emu(plan, model, opt);
    emu.forward(1, 0);
    emu.forward(2, 1);
    emu.write_trace();
  }
  std::ifstream f(opt.trace_path);
  const nlohmann::json doc = nlohmann::json::parse(f);
  std::set<int> tracks;
  size_t complete = 0;
  for (const auto& e : doc.at("traceEvents")) {
    if (e.at("ph") != "X") continue;
    ++complete;
    EXPECT_EQ(e.at("pid"), 0);
    tracks.insert(e.at("tid").get<int>());
    EXPECT_GE(e.at("dur").get<double>(), 0.0);
    EXPECT_GE(e.at("args").at("wait_us").get<double>(), 0.0);
    const int task = e.at("args").at("task");
    EXPECT_EQ(e.at("tid").get<int>(), plan.tasks[size_t(task)].sm);
    EXPECT_EQ(e.at("name"), op_name(plan.tasks[size_t(task)].op));
  }
  EXPECT_EQ(complete, 2 * plan.tasks.size());
  EXPECT_EQ(tracks, (std::set<int>{0, 1, 2, 3}));
}

}  // namespace
}  // namespace tessera

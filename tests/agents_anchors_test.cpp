// Grounded anchors: the canned plan/code/debug replies go through the real flow (the plan
// agent only marks, the code agent changes only marked spans), and every malformed anchor
// and every edit outside a span is rejected with the line (or JSON Pointer) it names.
#include "agents/anchors.h"
#include "agents/fenced_code.h"
#include "agents_scripted_server.h"
#include "core/error.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "plan/plan_json.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tessera::agents {
namespace {

std::string reply_content(const std::string& file) {
  return nlohmann::json::parse(test::agents_data(file))["choices"][0]["message"]["content"];
}

using test::error_of;

const AnchorLanguage cu = AnchorLanguage::Cuda;

TEST(AgentsAnchors, CannedPlanThenFixFollowTheRules) {
  const std::string source = test::agents_data("gemv_tile.cu");
  const std::string anchored = extract_fenced_block(reply_content("openai_plan_ok.json"), "cuda");
  check_anchors_only(source, anchored, cu);
  EXPECT_EQ(strip_anchors(anchored, cu), source);  // byte for byte

  const auto spans = parse_anchors(anchored, cu);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].begin_line, 5);
  EXPECT_EQ(spans[0].end_line, 8);
  EXPECT_EQ(spans[0].advice,
            "load 8 bf16 weights per thread with one 16-byte load (uint4),\n"
            "unpack them with __bfloat1622float2 and keep the warp reduction as it is");
  EXPECT_NE(spans[0].body.find("__bfloat162float(w[r * cols + c])"), std::string::npos);

  const std::string fixed = extract_fenced_block(reply_content("openai_debug_fix.json"), "cuda");
  const std::string result = apply_anchored_edit(anchored, fixed, cu);
  EXPECT_EQ(result.find("<<<IMPROVE"), std::string::npos);
  EXPECT_NE(result.find("const uint4* w4"), std::string::npos);
  EXPECT_EQ(result.find("__bfloat162float(w[r * cols + c])"), std::string::npos);
  // Outside the span the result is the source.
  EXPECT_EQ(result.substr(0, result.find("    const uint4*")), source.substr(0, source.find("    for (int c")));
  EXPECT_EQ(result.substr(result.find("    for (int o")), source.substr(source.find("    for (int o")));
}

TEST(AgentsAnchors, EditOutsideASpanIsRejectedWithItsLine) {
  const std::string anchored = extract_fenced_block(reply_content("openai_plan_ok.json"), "cuda");
  std::string edited = anchored;
  const size_t at = edited.find("y[r] = acc;");
  edited.replace(at, 11, "y[r] = 1.f;");  // a reward hack outside the marked span
  const std::string e = error_of([&] { apply_anchored_edit(anchored, edited, cu); });
  EXPECT_NE(e.find("line 10: the edit changes code outside every marked span"), std::string::npos) << e;
  EXPECT_NE(e.find("'if (threadIdx.x % 32 == 0) y[r] = acc;'"), std::string::npos) << e;

  std::string added = anchored;
  added.insert(0, "#include <cstdio>\n");
  const std::string e2 = error_of([&] { apply_anchored_edit(anchored, added, cu); });
  EXPECT_NE(e2.find("line 1:"), std::string::npos) << e2;

  std::string dropped = anchored;
  dropped.erase(dropped.find("    // <<<IMPROVE END>>>\n"), 25);
  const std::string e3 = error_of([&] { apply_anchored_edit(anchored, dropped, cu); });
  EXPECT_NE(e3.find("never closed"), std::string::npos) << e3;
}

TEST(AgentsAnchors, PlanAgentMayOnlyMark) {
  const std::string source = test::agents_data("gemv_tile.cu");
  std::string anchored = extract_fenced_block(reply_content("openai_plan_ok.json"), "cuda");
  anchored.replace(anchored.find("o /= 2"), 6, "o >>= 1");
  const std::string e = error_of([&] { check_anchors_only(source, anchored, cu); });
  EXPECT_NE(e.find("line 9: the anchored text changes the source"), std::string::npos) << e;
  EXPECT_NE(e.find("source line 6"), std::string::npos) << e;
}

TEST(AgentsAnchors, MalformedAnchorsNameTheLine) {
  auto err = [](const std::string& text) { return error_of([&] { parse_anchors(text, AnchorLanguage::Cpp); }); };
  EXPECT_NE(err("a;\n// <<<IMPROVE BEGIN>>> x\nb;\n// <<<IMPROVE BEGIN>>> y\nc;\n// <<<IMPROVE END>>>\n")
                .find("line 4: <<<IMPROVE BEGIN>>> inside the span opened at line 2"),
            std::string::npos);
  EXPECT_NE(err("a;\n// <<<IMPROVE END>>>\n").find("line 2: <<<IMPROVE END>>> without a matching"), std::string::npos);
  EXPECT_NE(err("a;\n// <<<IMPROVE BEGIN>>> x\nb;\n").find("line 2: <<<IMPROVE BEGIN>>> is never closed"),
            std::string::npos);
  EXPECT_NE(err("a;\nb;\n").find("no <<<IMPROVE BEGIN>>> anchor"), std::string::npos);
  EXPECT_NE(err("x = 1; // <<<IMPROVE BEGIN>>>\n// <<<IMPROVE END>>>\n").find("line 1: an anchor must be a comment"),
            std::string::npos);
  EXPECT_NE(err("// <<<IMPROVE START>>>\n").find("line 1: unknown anchor '<<<IMPROVE START>>>'"), std::string::npos);
  EXPECT_NE(err("/* <<<IMPROVE BEGIN>>> advice\nstill advice\n").find("line 1: the anchor comment is never closed"),
            std::string::npos);
  EXPECT_NE(err("/* <<<IMPROVE BEGIN>>> advice */ x = 1;\n// <<<IMPROVE END>>>\n").find("code after the anchor"),
            std::string::npos);
  EXPECT_NE(err("// TODO <<<IMPROVE BEGIN>>>\n").find("must open its comment"), std::string::npos);
}

TEST(AgentsAnchors, SpanBodiesAndEmptySpans) {
  const std::string anchored = "int f() {\n  // <<<IMPROVE BEGIN>>> return 2\n  return 1;\n  // <<<IMPROVE END>>>\n"
                               "}\n// <<<IMPROVE BEGIN>>> add g\n// <<<IMPROVE END>>>\n";
  const auto spans = parse_anchors(anchored, AnchorLanguage::Cpp);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[1].body, "");  // an empty span marks where to insert
  EXPECT_EQ(apply_span_bodies(anchored, {"  return 2;\n", "int g() { return 3; }"}, AnchorLanguage::Cpp),
            "int f() {\n  return 2;\n}\nint g() { return 3; }\n");
  EXPECT_NE(error_of([&] { apply_span_bodies(anchored, {"x"}, AnchorLanguage::Cpp); }).find("1 replacement bodies for 2"),
            std::string::npos);
}

const char* kPlan = R"({
  "version": 1,
  "config": {"__improve__": "raise tile_n to 128: the GEMV is load-bound", "tile_n": 64, "stages": 2},
  "queues": [[0, 1], [2]]
})";

TEST(AgentsAnchorsJson, MarkedObjectsAndWholeDocumentEdits) {
  const auto spans = parse_anchors(kPlan, AnchorLanguage::Json);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].pointer, "/config");
  EXPECT_EQ(spans[0].advice, "raise tile_n to 128: the GEMV is load-bound");
  EXPECT_EQ(nlohmann::json::parse(spans[0].body), nlohmann::json::parse(R"({"tile_n": 64, "stages": 2})"));

  auto edited = nlohmann::json::parse(kPlan);
  edited["config"]["tile_n"] = 128;
  const auto result = nlohmann::json::parse(apply_anchored_edit(kPlan, edited.dump(), AnchorLanguage::Json));
  EXPECT_EQ(result["config"]["tile_n"], 128);
  EXPECT_FALSE(result["config"].contains("__improve__"));

  edited["queues"][1][0] = 1;
  const std::string e = error_of([&] { apply_anchored_edit(kPlan, edited.dump(), AnchorLanguage::Json); });
  EXPECT_NE(e.find("changes '/queues/1/0', outside every marked object ('/config')"), std::string::npos) << e;
}

TEST(AgentsAnchorsJson, PatchEdits) {
  const auto ok = apply_anchored_edit(kPlan, R"([{"op": "replace", "path": "/config/stages", "value": 4}])",
                                      AnchorLanguage::Json);
  EXPECT_EQ(nlohmann::json::parse(ok)["config"]["stages"], 4);
  std::string e = error_of([] {
    apply_anchored_edit(kPlan, R"([{"op": "replace", "path": "/config/stages", "value": 4},
                                  {"op": "remove", "path": "/queues/1"}])",
                        AnchorLanguage::Json);
  });
  EXPECT_NE(e.find("patch operation 1 (remove '/queues/1')"), std::string::npos) << e;
  e = error_of([] {
    apply_anchored_edit(kPlan, R"([{"op": "move", "from": "/version", "path": "/config/version"}])",
                        AnchorLanguage::Json);
  });
  EXPECT_NE(e.find("move from '/version'"), std::string::npos) << e;
  e = error_of([] {
    apply_anchored_edit(kPlan, R"([{"op": "replace", "path": "/config/nope/x", "value": 1}])", AnchorLanguage::Json);
  });
  EXPECT_NE(e.find("does not apply"), std::string::npos) << e;
  e = error_of([] { apply_anchored_edit(kPlan, "[{\"path\": \"/config\"}]", AnchorLanguage::Json); });
  EXPECT_NE(e.find("patch operation 0 is not an object"), std::string::npos) << e;
}

TEST(AgentsAnchorsJson, MalformedMarkersAndPlanAgentChanges) {
  auto err = [](const std::string& t) { return error_of([&] { parse_anchors(t, AnchorLanguage::Json); }); };
  EXPECT_NE(err(R"({"a": {"__improve__": "x", "b": {"__improve__": "y"}}})").find("'/a/b' is marked inside the marked '/a'"),
            std::string::npos);
  EXPECT_NE(err(R"({"a": {"__improve__": 3}})").find("'/a': \"__improve__\" must be a non-empty string"),
            std::string::npos);
  EXPECT_NE(err(R"({"a": 1})").find("no \"__improve__\" member"), std::string::npos);
  EXPECT_NE(err(R"({"a": )").find("not valid JSON"), std::string::npos);

  auto changed = nlohmann::json::parse(kPlan);
  changed["version"] = 2;
  auto source = nlohmann::json::parse(kPlan);
  source["config"].erase("__improve__");
  EXPECT_NO_THROW(check_anchors_only(source.dump(), kPlan, AnchorLanguage::Json));
  const std::string e = error_of([&] { check_anchors_only(source.dump(), changed.dump(), AnchorLanguage::Json); });
  EXPECT_NE(e.find("changes '/version'"), std::string::npos) << e;
}

// A lowered plan, marked the way a plan agent would mark it: the edit comes back as a JSON
// Patch, stays inside the marked task, and the result is still a plan the reader accepts.
TEST(AgentsAnchorsJson, LoweredPlanMarkedAndPatched) {
  const Plan plan = lower(shape_config("tiny"), target_preset("sm_90a"), LowerConfig{}, 0, "tiny");
  const std::string source = plan_to_json(plan);
  auto marked = nlohmann::json::parse(source);
  ASSERT_TRUE(marked["config"].is_object());
  marked["config"]["__improve__"] = "split attention over the KV cache: kv_splits 2";
  const std::string anchored = marked.dump(2);
  check_anchors_only(source, anchored, AnchorLanguage::Json);
  ASSERT_EQ(parse_anchors(anchored, AnchorLanguage::Json).at(0).pointer, "/config");

  const std::string edited = apply_anchored_edit(
      anchored, R"([{"op": "replace", "path": "/config/kv_splits", "value": 2}])", AnchorLanguage::Json);
  const Plan back = parse_plan_json(edited, "edited plan");
  EXPECT_EQ(back.tasks.size(), plan.tasks.size());
  EXPECT_EQ(nlohmann::json::parse(edited)["config"]["kv_splits"], 2);

  // The same agent touching a task (outside the marked config) is refused, naming it.
  const std::string e = error_of([&] {
    apply_anchored_edit(anchored, R"([{"op": "replace", "path": "/config/kv_splits", "value": 2},
                                     {"op": "remove", "path": "/tasks/3/waits"}])",
                        AnchorLanguage::Json);
  });
  EXPECT_NE(e.find("patch operation 1 (remove '/tasks/3/waits')"), std::string::npos) << e;
}

TEST(AgentsFencedCode, OneBlockOfTheLanguage) {
  EXPECT_EQ(extract_fenced_block("Here:\n```cuda\nint x;\n```\nDone.", "cuda"), "int x;\n");
  EXPECT_EQ(extract_fenced_block("```\nint y;\n```\n", "cuda"), "int y;\n");  // untagged fallback
  EXPECT_NE(error_of([] { extract_fenced_block("no code", "cuda"); }).find("no ```cuda code block"), std::string::npos);
  EXPECT_NE(error_of([] { extract_fenced_block("```cuda\na\n```\n```cuda\nb\n```\n", "cuda"); }).find("2 ```cuda"),
            std::string::npos);
  EXPECT_NE(error_of([] { extract_fenced_block("```cuda\na\n", "cuda"); }).find("never closed"), std::string::npos);
}

}  // namespace
}  // namespace tessera::agents

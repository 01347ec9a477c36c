// Emulator speed on built-in shapes with hand-built plans (the lowered-plan figures come
// with tests/emulate_lowered_test.cpp after the lowering merge), and the reference check
// the `emulate` command prints. The stories260k step must take milliseconds; the
// llama-3.2-1b comparison with the engine runs only with TESSERA_EMU_LARGE=1 (it
// materialises 5 GB of f32 weights).
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/error.h"
#include "emulate/reference_check.h"
#include "emulate/shape_model.h"
#include "emulate_plan_builder.h"
#include "plan/lower.h"

namespace tessera {
namespace {

TEST(EmulatePerf, Stories260kStepTakesMilliseconds) {
  const Model model = shape_model("stories260k", 0);
  test::DecodePlanOptions po;
  po.context = 64;
  po.blocks = 16;
  po.rows_per_task = 16;
  po.lm_tiles = 8;
  po.kv_splits = 2;
  const Plan plan = test::build_decode_plan(model.config, po);
  ReferenceCheckOptions o;
  o.prompt = {1, 20, 30};
  o.steps = 29;
  o.interleavings = 3;
  o.emulator.threads = 2;
  o.engine_threads = 1;
  const ReferenceCheck r = check_against_reference(plan, model, o);
  EXPECT_TRUE(r.passed(1e-5)) << r.summary(1e-5);
  const std::string s = r.summary(1e-5);
  EXPECT_NE(s.find("result:           PASS"), std::string::npos) << s;
  std::printf("stories260k (hand-built plan, %zu tasks, 16 blocks): emulator %.3f ms/step with shadow state, "
              "engine %.3f ms/step\n", plan.tasks.size(), r.runs[0].seconds_per_step * 1e3,
              r.reference_seconds_per_step * 1e3);
  EXPECT_LT(r.runs[0].seconds_per_step, 0.05);
}

TEST(EmulatePerf, ReferenceCheckReportsMismatches) {
  const Model model = shape_model("tiny", 3);
  Plan plan = test::build_decode_plan(model.config, {});
  // Swap the token the plan produces for a wrong one: argmax_reduce reads no partials... the
  // simplest wrong plan: the final norm bound to another norm weight.
  for (Buffer& b : plan.buffers)
    if (b.weight == "model.norm.weight") b.weight = "model.layers.0.input_layernorm.weight";
  ReferenceCheckOptions o;
  o.prompt = {1};
  o.steps = 4;
  const ReferenceCheck r = check_against_reference(plan, model, o);
  EXPECT_FALSE(r.passed(1e-5));
  EXPECT_GT(r.max_rel_error(), 1e-3);
  EXPECT_NE(r.summary(1e-5).find("result:           FAIL"), std::string::npos) << r.summary(1e-5);

  o.prompt.clear();
  try {
    check_against_reference(plan, model, o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "the emulator check needs at least one prompt token");
  }
  o.prompt = {1};
  o.steps = 16;
  try {
    check_against_reference(plan, model, o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "1 prompt tokens + 16 steps exceed the plan's context of 16");
  }
}

TEST(EmulatePerf, ShapeModelIsTheBuiltInShape) {
  const Model m = shape_model("stories260k", 7);
  EXPECT_EQ(m.config.hidden_size, 64);
  EXPECT_EQ(m.weights.at("model.embed_tokens.weight").dtype, DType::F32);
  EXPECT_EQ(m.source, "shape:stories260k");
  EXPECT_THROW(shape_model("no-such-shape", 0), Error);
}

TEST(EmulatePerf, Llama1bWithinTwiceTheEngine) {
  const char* e = std::getenv("TESSERA_EMU_LARGE");
  if (!e || std::string(e) != "1") GTEST_SKIP() << "set TESSERA_EMU_LARGE=1 (5 GB of weights, a minute)";
  const Model model = shape_model("llama-3.2-1b", 0);
  test::DecodePlanOptions po;
  po.context = 16;
  po.blocks = 132;
  po.rows_per_task = 64;
  po.lm_tiles = 132;
  po.embed_tiles = 4;
  const Plan plan = test::build_decode_plan(model.config, po);
  ReferenceCheckOptions o;
  o.prompt = {1, 5};
  o.steps = 2;
  for (bool shadow : {true, false}) {
    o.emulator.check_shadow = shadow;
    const ReferenceCheck r = check_against_reference(plan, model, o);
    EXPECT_TRUE(r.passed(1e-5)) << r.summary(1e-5);
    std::printf("llama-3.2-1b (hand-built plan, %zu tasks, 132 blocks, shadow %s): emulator %.1f ms/step, "
                "engine %.1f ms/step, ratio %.2f\n", plan.tasks.size(), shadow ? "on" : "off",
                r.runs[0].seconds_per_step * 1e3, r.reference_seconds_per_step * 1e3,
                r.runs[0].seconds_per_step / r.reference_seconds_per_step);
    EXPECT_LT(r.runs[0].seconds_per_step, 2.5 * r.reference_seconds_per_step);
  }
}

// The default lowered plan in both dispatch modes, shadow state on: the configuration the
// search's emulation rung and `tessera emulate` run. Free dispatch must give the engine's
// logits too, on a plan of thousands of tasks.
TEST(EmulatePerf, Llama1bDefaultPlanInBothDispatchModes) {
  const char* e = std::getenv("TESSERA_EMU_LARGE");
  if (!e || std::string(e) != "1") GTEST_SKIP() << "set TESSERA_EMU_LARGE=1 (5 GB of weights, a minute)";
  const Model model = shape_model("llama-3.2-1b", 0);
  const Plan plan = lower(model.config, target_preset("sm_90a"), LowerConfig{}, 16, model.source);
  ReferenceCheckOptions o;
  o.prompt = {1, 5};
  o.steps = 2;
  o.emulator.constants = [&model](const Plan& p, int32_t b) { return constant_values(p, b, model.config); };
  for (const char* dispatch : {"rounds", "free"}) {
    o.emulator.dispatch = dispatch;
    const ReferenceCheck r = check_against_reference(plan, model, o);
    EXPECT_TRUE(r.passed(1e-5)) << dispatch << ": " << r.summary(1e-5);
    const double ratio = r.runs[0].seconds_per_step / r.reference_seconds_per_step;
    std::printf("llama-3.2-1b (default plan, %zu tasks, %zu blocks, dispatch %s): emulator %.1f ms/step, "
                "engine %.1f ms/step, ratio %.2f\n", plan.tasks.size(), plan.queues.size(), dispatch,
                r.runs[0].seconds_per_step * 1e3, r.reference_seconds_per_step * 1e3, ratio);
    EXPECT_LT(ratio, 2.5) << dispatch;
  }
}

}  // namespace
}  // namespace tessera

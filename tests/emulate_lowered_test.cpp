// The emulator on plans from lower(): every built-in shape (large ones only when
// TESSERA_EMU_LARGE=1, they take minutes here), non-default knobs, the real stories260K
// checkpoint, 20 interleavings each for the small cases, against the CPU reference engine.
// Pending until the lowering branch is merged (lower(), constant_values(), validate_plan()
// live there); rename to .cpp then.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "core/error.h"
#include "emulate/emulator.h"
#include "emulate/reference_check.h"
#include "emulate/shape_model.h"
#include "model/load.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "validate/validate.h"
#include "test_util.h"

namespace tessera {
namespace {

bool large_enabled() {
  const char* e = std::getenv("TESSERA_EMU_LARGE");
  return e && std::string(e) == "1";
}

ReferenceCheckOptions check_options(const Model& model, int interleavings, int steps) {
  ReferenceCheckOptions o;
  o.prompt = {model.config.bos_token_id >= 0 ? model.config.bos_token_id : 0, 5, 9};
  o.steps = steps;
  o.interleavings = interleavings;
  o.emulator.constants = [&model](const Plan& p, int32_t b) { return constant_values(p, b, model.config); };
  return o;
}

void expect_passes(const Plan& plan, const Model& model, int interleavings, int steps) {
  ASSERT_TRUE(validate_plan(plan).ok()) << validate_plan(plan).to_text();
  const ReferenceCheck r = check_against_reference(plan, model, check_options(model, interleavings, steps));
  EXPECT_TRUE(r.passed(1e-5)) << r.summary(1e-5);
  for (const ReferenceRun& run : r.runs) EXPECT_TRUE(run.bit_identical_to_first) << "seed " << run.seed;
}

TEST(EmulateLowered, SmallShapesMatchEngineOverTwentyInterleavings) {
  for (const char* shape : {"tiny", "stories260k"}) {
    SCOPED_TRACE(shape);
    const Model model = shape_model(shape, 0);
    const Plan plan = lower(model.config, target_preset("sm_90a"), LowerConfig{}, 64, shape);
    expect_passes(plan, model, 20, 8);
  }
}

TEST(EmulateLowered, EveryBuiltInShape) {
  if (!large_enabled()) GTEST_SKIP() << "set TESSERA_EMU_LARGE=1 to emulate every built-in shape (minutes)";
  for (const std::string& shape : shape_names()) {
    SCOPED_TRACE(shape);
    const Model model = shape_model(shape, 0);
    const Plan plan = lower(model.config, target_preset("sm_90a"), LowerConfig{}, 32, shape);
    expect_passes(plan, model, 2, 2);
  }
}

TEST(EmulateLowered, NonDefaultKnobsMatchEngine) {
  const Model model = shape_model("stories260k", 1);
  const std::vector<std::vector<std::string>> settings = {
      {"kv_splits=3"},
      {"fuse_norm=false"},
      {"counter_granularity=op"},
      {"queue_order=round_robin", "sms=7"},
      {"qkv_heads_per_task=2", "o_rows_per_task=16", "gate_up_rows_per_task=8", "down_rows_per_task=8",
       "lm_rows_per_task=64", "embed_cols_per_task=16"},
      {"weight_dtype=f32", "kv_dtype=f32", "kv_splits=2", "sms=3"},
      {"qkv_head_parts=1"},
      {"qkv_head_parts=3", "kv_splits=2"},  // uneven pair ranges (4 pairs in 3 parts)
  };
  for (const auto& knobs : settings) {
    LowerConfig cfg;
    std::string label;
    for (const std::string& k : knobs) {
      cfg.set(k);
      label += k + " ";
    }
    SCOPED_TRACE(label);
    const Plan plan = lower(model.config, target_preset("sm_90a"), cfg, 64, "stories260k");
    expect_passes(plan, model, 20, 6);
  }
}

// Attention folded into the o projection (attn_matvec) computes what the engine does, bit
// for bit in fp32 (the same per-head arithmetic as attn_partial), at every position of the
// context, on the shapes small enough to run here: every layer's attention is folded.
TEST(EmulateLowered, FoldedAttentionMatchesEngineBitForBit) {
  for (const char* shape : {"tiny", "stories260k"})
    for (int ctx : {16, 32}) {
      SCOPED_TRACE(fmt::format("{} context {}", shape, ctx));
      const Model model = shape_model(shape, 2);
      LowerConfig cfg;
      cfg.set("fold_attention=on");
      const Plan plan = lower(model.config, target_preset("sm_90a"), cfg, ctx, shape);
      int folded = 0;
      for (const Task& t : plan.tasks) {
        EXPECT_NE(t.op, Op::AttnPartial);
        folded += t.op == Op::AttnMatvec;
      }
      EXPECT_GT(folded, 0);
      ASSERT_TRUE(validate_plan(plan).ok()) << validate_plan(plan).to_text();
      const ReferenceCheck r = check_against_reference(plan, model, check_options(model, 5, ctx - 3));
      EXPECT_TRUE(r.passed(0.0)) << r.summary(0.0);
    }
}

TEST(EmulateLowered, Stories260KCheckpointMatchesEngine) {
  auto path = test::shared_model("stories260K.bin");
  if (!path) GTEST_SKIP() << "stories260K.bin not found under ../shared/models (set TESSERA_SHARED_DIR)";
  const Model model = load_model(*path);
  const Plan plan = lower(model.config, target_preset("sm_90a"), LowerConfig{}, 128, "stories260K.bin");
  expect_passes(plan, model, 20, 32);
}

TEST(EmulateLowered, GpuNumericsKeepsTokensOnStories260K) {
  const Model model = shape_model("stories260k", 0);
  const Plan plan = lower(model.config, target_preset("sm_90a"), LowerConfig{}, 64, "stories260k");
  ReferenceCheckOptions o = check_options(model, 3, 8);
  o.emulator.numerics = "gpu";
  const ReferenceCheck r = check_against_reference(plan, model, o);
  EXPECT_GT(r.max_rel_error(), 0.0) << "bf16 weights should change the logits a little";
  EXPECT_LT(r.max_rel_error(), 5e-2) << r.summary(5e-2);
  EXPECT_TRUE(r.interleavings_agree()) << r.summary(5e-2);
}

TEST(EmulateLowered, PlantedRaceAcceptedByAWeakenedValidatorIsCaught) {
  const Model model = shape_model("tiny", 0);
  LowerConfig unfolded;
  unfolded.fold_attention = "off";  // the victim is an attention task
  Plan plan = lower(model.config, target_preset("sm_90a"), unfolded, 32, "tiny");
  // Drop every wait of the first attention task: it may now read q and the caches before
  // they are written. The real validator rejects this; the "weakened validator" here is no
  // validation at all, and the shadow state must catch it in every interleaving.
  int32_t victim = -1;
  for (Task& t : plan.tasks)
    if (t.op == Op::AttnPartial && !t.waits.empty()) {
      t.waits.clear();
      victim = t.id;
      break;
    }
  ASSERT_GE(victim, 0);
  EXPECT_FALSE(validate_plan(plan).ok());
  // Both dispatch modes (scheduler.h); free with more workers than this VM has cores.
  for (const char* dispatch : {"rounds", "free"})
  for (uint64_t seed = 0; seed < 20; ++seed) {
    EmulatorOptions opt;
    opt.seed = seed;
    opt.dispatch = dispatch;
    if (opt.dispatch == "free") opt.threads = 4;
    opt.constants = [&model](const Plan& p, int32_t b) { return constant_values(p, b, model.config); };
    Emulator emu(plan, model, opt);
    try {
      for (int pos = 0; pos < 3; ++pos) emu.forward(1, pos);
      ADD_FAILURE() << dispatch << " seed " << seed << ": the planted race went unnoticed";
    } catch (const Error& e) {
      const std::string err = e.what();
      EXPECT_NE(err.find(fmt::format("task {} (block {}, attn_partial)", victim, plan.tasks[size_t(victim)].sm)),
                std::string::npos) << err;
    }
  }
}

TEST(EmulateLowered, StepTimesForPerfDoc) {
  // Not a pass/fail speed test: prints the figures docs/PERF.md records.
  const Model model = shape_model("stories260k", 0);
  const Plan plan = lower(model.config, target_preset("sm_90a"), LowerConfig{}, 64, "stories260k");
  ReferenceCheckOptions o = check_options(model, 1, 29);
  const ReferenceCheck r = check_against_reference(plan, model, o);
  std::printf("stories260k: emulator %.3f ms/step (shadow on), engine %.3f ms/step\n",
              r.runs[0].seconds_per_step * 1e3, r.reference_seconds_per_step * 1e3);
  EXPECT_LT(r.runs[0].seconds_per_step, 0.05);
}

}  // namespace
}  // namespace tessera

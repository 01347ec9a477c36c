// The search's GPU rungs: a lowered plan passes verification against the CPU reference and
// times above its floor; a plan the validator accepts but whose numbers are wrong (an LM
// head epsilon changed) is rejected by verification, with the reference's summary.
#include <gtest/gtest.h>

#include "cuda/gpu_measurer.h"
#include "cuda_test_util.h"
#include "e2e_compare.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "search/instruction_kinds.h"

namespace tessera::test {
namespace {

TEST(GpuMeasurer, VerifiesAndTimesALoweredPlanAndRejectsWrongNumbers) {
  TESSERA_REQUIRE_CUDA();
  const Model m = random_bf16_model("stories260k", 21);
  const Plan plan = plan_for_device(m.config, {}, 64, "stories260k");
  GpuMeasurerOptions o;
  o.position = 5;
  o.steps = 20;
  o.warmup = 3;
  GpuMeasurer g(m, o);
  EXPECT_EQ(g.verify(plan), "");
  const Measurement ms = g.measure(plan);
  EXPECT_EQ(ms.error, "");
  EXPECT_GT(ms.median_s, 0);
  EXPECT_GE(ms.spread, 0);
  std::printf("[ measure  ] stories260k default plan on %s: %.4f ms (spread %.1f%%)\n", g.name().c_str(),
              ms.median_s * 1e3, ms.spread * 100);
  // Every instruction kind's own time from the traced steps: within the step, and the
  // step's kind (every task) no longer than the timed step plus the launch it excludes.
  ASSERT_EQ(ms.kinds.size(), instruction_kinds().size());
  for (const auto& [kind, t] : ms.kinds) {
    EXPECT_GE(t.s, 0) << kind;
    EXPECT_LE(t.s, ms.kinds.at(kScheduleKind).s * (1 + 1e-9)) << kind << " runs within the step";
    std::printf("[ kinds    ] %-10s %.2f us (spread %.1f%%)\n", kind.c_str(), t.s * 1e6, t.spread * 100);
  }
  for (const char* kind : {"qkv", "o", "gate_up", "down", "lm_head", "norm"}) EXPECT_GT(ms.kinds.at(kind).s, 0) << kind;
  EXPECT_LT(ms.kinds.at(kScheduleKind).s, 3 * ms.median_s);
  GpuMeasurerOptions untraced = o;
  untraced.trace_steps = 0;
  EXPECT_TRUE(GpuMeasurer(m, untraced).measure(plan).kinds.empty());

  Plan wrong = plan;
  for (Task& task : wrong.tasks)
    if (task.op == Op::LmHeadArgmax) task.p.eps = 10.0f;
  const std::string why = g.verify(wrong);
  EXPECT_NE(why.find("differs from the CPU reference"), std::string::npos) << why;

  Plan short_ctx = plan_for_device(m.config, {}, 4, "stories260k");
  EXPECT_NE(g.measure(short_ctx).error.find("not below the plan's context"), std::string::npos);
}

}  // namespace
}  // namespace tessera::test

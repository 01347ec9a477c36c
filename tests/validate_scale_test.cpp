// The validator must check plans of the finest knobs (hundreds of thousands of tasks) in
// about a second on a 2-core machine, with no check skipped by size. This builds a
// synthetic plan shaped like a lowering: an embedding, a few hundred layers of two
// matvec ops tiled over 132 blocks (every tile of the second op reads all of the first's
// output, the quadratic case for naive pair checking), an LM head in tiles and an argmax;
// then times validation of it and of a copy with one wait dropped deep inside.
#include <gtest/gtest.h>

#include <ctime>
#include <cstdio>

#include "validate/validate.h"
#include "validate_synthetic.h"

using namespace tessera;

using tessera::test::synthetic_plan;

TEST(ValidateScale, TwoHundredThousandTasksInAboutASecond) {
  tessera::test::Synthetic s = synthetic_plan({});
  ASSERT_GE(s.plan.tasks.size(), 200000u);

  // CPU time next to wall time: on a loaded shared machine the wall clock says little.
  const std::clock_t cpu0 = std::clock();
  ValidationReport ok = validate_plan(s.plan);
  const double cpu = double(std::clock() - cpu0) / CLOCKS_PER_SEC;
  EXPECT_TRUE(ok.ok()) << ok.to_text();
  std::printf("validated %zu tasks, %zu blocks, %zu counters in %.3f s (%.3f s of CPU)\n", ok.tasks, ok.blocks,
              ok.counters, ok.seconds, cpu);
  RecordProperty("accepted_seconds", std::to_string(ok.seconds));
  EXPECT_LT(ok.seconds, 2.0);

  s.plan.tasks[size_t(s.dropped_task)].waits.clear();
  ValidationReport bad = validate_plan(s.plan);
  std::printf("rejected the same plan with one dropped wait in %.3f s\n", bad.seconds);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.errors[0].rule, "race");
  EXPECT_EQ(bad.errors[0].tasks[0], s.dropped_task) << bad.to_text();
  EXPECT_LT(bad.seconds, 2.0);
}

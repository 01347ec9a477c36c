// A CI-sized run of the adversarial suite: the validator must accept no plan the oracle
// calls unsafe, and its false-reject rate over oracle-safe plans is printed (target < 5%).
#include <gtest/gtest.h>

#include <cstdio>

#include "soundness/suite.h"

namespace tessera::soundness {
namespace {

TEST(SoundnessSuite, NoFalseAcceptsOverTwoThousandPlans) {
  SuiteOptions o;
  o.count = 2000;
  o.seed = 7;
  const SuiteResult r = run_suite(o);
  const ClassStats& total = r.classes.back();
  std::printf("%s", r.table().c_str());
  const double fr = total.oracle_safe ? double(total.false_rejects) / double(total.oracle_safe) : 0;
  std::printf("false-reject rate: %.2f%% (%zu of %zu oracle-safe plans)\n", 100 * fr, total.false_rejects,
              total.oracle_safe);
  for (const Finding& f : r.false_accepts)
    ADD_FAILURE() << "false accept #" << f.index << " [" << f.cls << " from " << f.base << "]: " << f.oracle;
  EXPECT_EQ(total.false_accepts, 0u);
  EXPECT_GT(total.oracle_unsafe, 1000u);  // the suite really produces unsafe plans
  EXPECT_GT(total.oracle_safe, 50u);      // and safe ones, so false rejects are measured
  EXPECT_LT(fr, 0.05);
}

}  // namespace
}  // namespace tessera::soundness

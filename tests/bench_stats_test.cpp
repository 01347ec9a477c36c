// Sample summaries and the floor guard.
#include <gtest/gtest.h>

#include <cmath>

#include "bench/stats.h"
#include "core/error.h"

namespace tessera {
namespace {

TEST(BenchStats, SummaryOfOddAndEvenCounts) {
  Summary s = summarize({5, 1, 3, 2, 4});
  EXPECT_EQ(s.n, 5);
  EXPECT_DOUBLE_EQ(s.median, 3);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 5);
  s = summarize({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(s.median, 2.5);
}

TEST(BenchStats, PercentilesIgnoreOneOutlier) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  v.back() = 1e6;  // one preempted repetition
  const Summary s = summarize(v);
  EXPECT_DOUBLE_EQ(s.p10, 10);
  EXPECT_DOUBLE_EQ(s.p90, 90);
  EXPECT_DOUBLE_EQ(s.max, 1e6);
  EXPECT_NEAR(s.spread(), 80.0 / 50.5, 1e-12);
}

TEST(BenchStats, RejectsEmptyAndNonFinite) {
  EXPECT_THROW(summarize({}), Error);
  try {
    summarize({1, NAN, 2});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sample 1"), std::string::npos) << e.what();
  }
}

TEST(BenchStats, GuardPassesAtAndAboveTheFloor) {
  EXPECT_TRUE(check_floor("megakernel", 1, summarize({1.0e-3, 1.2e-3}), 1.0e-3).ok);
  EXPECT_TRUE(check_floor("megakernel", 1, summarize({2e-3}), 1.0e-3).message.empty());
}

TEST(BenchStats, GuardCatchesOneRepetitionBelowTheFloor) {
  // Median well above the floor, but one repetition is faster than physics allows.
  const FloorVerdict v = check_floor("ops-graph", 512, summarize({0.4e-3, 0.9e-3, 0.9e-3, 0.9e-3}), 0.58e-3);
  ASSERT_FALSE(v.ok);
  EXPECT_NE(v.message.find("ops-graph"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("position 512"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("0.4000 ms"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("floor 0.5800 ms"), std::string::npos) << v.message;
}

TEST(BenchStats, GuardRejectsNonPositiveTimesAndFloors) {
  EXPECT_FALSE(check_floor("x", 0, summarize({0.0, 1.0}), 1e-9).ok);
  EXPECT_FALSE(check_floor("x", 0, summarize({1.0}), 0).ok);
  EXPECT_FALSE(check_floor("x", 0, Summary{}, 1e-3).ok);
}

}  // namespace
}  // namespace tessera

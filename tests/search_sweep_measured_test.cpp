// The search-efficiency sweep on measured costs: with a Measurer every point goes through
// its verify and measure, the table holds those times (not the cost model's), a point the
// measurer calls wrong is never the best, and the report says measured and names the
// device. A fake measurer stands in for the GPU so this runs in CI.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "search/sweep.h"

namespace tessera {
namespace {

struct FakeGpu : Measurer {
  int verified = 0, measured = 0;
  std::string name() const override { return "fake-gpu"; }
  // kv_splits=4 computes the wrong numbers here, so it must never be the best, however fast.
  std::string verify(const Plan& p) override {
    ++verified;
    return p.config["kv_splits"] == 4 ? "logits differ at 3" : "";
  }
  // Times the cost model would not give: more kv splits are faster, queue order "bytes" costs 10%.
  Measurement measure(const Plan& p) override {
    ++measured;
    const int splits = p.config["kv_splits"].get<int>();
    double ms = 2.0 / double(splits > 0 ? splits : 1);
    if (p.config["queue_order"] == "bytes") ms *= 1.1;
    return {ms * 1e-3, 0.004, ""};
  }
};

TEST(SearchSweepMeasured, PointsAreVerifiedAndTimedByTheMeasurer) {
  FakeGpu gpu;
  SweepOptions o;
  o.shape = "tiny";
  o.keys = {"kv_splits", "queue_order"};
  o.start_knobs = {"kv_splits=1", "queue_order=bytes"};
  o.policies = {"stark", "random"};
  o.seeds = 2;
  o.context = 32;
  o.measurer = &gpu;
  const SweepResult r = run_sweep(o, nullptr);
  ASSERT_TRUE(r.measured);
  EXPECT_EQ(gpu.verified, int(r.points));  // every point passed the emulator, then the GPU check
  EXPECT_EQ(gpu.measured, int(r.ok));      // only the verified ones were timed
  EXPECT_LT(r.ok, int64_t(r.points));      // kv_splits=4 was rejected
  // The best is the fastest *verified* point: 8 splits (if offered) or 2, never the wrong 4.
  EXPECT_EQ(r.best_knobs.find("kv_splits=4"), std::string::npos) << r.best_knobs;
  EXPECT_NE(r.best_knobs.find("queue_order=round_robin"), std::string::npos) << r.best_knobs;
  EXPECT_DOUBLE_EQ(r.default_s, 2.2e-3);  // the root: 1 split, bytes order
  const std::string md = sweep_markdown(r, o);
  EXPECT_NE(md.find("(measured)"), std::string::npos) << md;
  EXPECT_EQ(md.find("(predicted)"), std::string::npos) << md;
  EXPECT_NE(md.find("timed on fake-gpu"), std::string::npos) << md;
  for (const char* p : {"| stark | 2 |", "| random | 2 |"}) EXPECT_NE(md.find(p), std::string::npos) << md;
}

}  // namespace
}  // namespace tessera

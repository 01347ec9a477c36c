// The ladder's last rung: a measured candidate whose solo time beats the best's is timed
// again interleaved with the best's plan, and only a per-pair ratio faster beyond its
// noise makes it the best. A fake GPU whose solo times drift (each later measurement 1%
// faster, as clocks and temperature do) while every plan truly costs the same: solo times
// alone crown a later candidate, the interleaved comparison keeps the root.
#include <gtest/gtest.h>

#include "search/report.h"
#include "search/store.h"
#include "search/tune_loop.h"
#include "test_util.h"

namespace tessera {
namespace {

struct DriftingGpu : Measurer {
  bool interleaves = true;
  int measured = 0, compared = 0;
  std::string name() const override { return "drifting-fake-gpu"; }
  std::string verify(const Plan&) override { return ""; }
  Measurement measure(const Plan&) override {
    ++measured;
    double t = 1e-3;
    for (int i = 1; i < measured; ++i) t *= 0.99;
    return {t, 0.002, ""};
  }
  PairedRatio compare(const Plan& candidate, const Plan& reference) override {
    if (!interleaves) return Measurer::compare(candidate, reference);
    ++compared;
    return {50, 0.999, 0.997, 1.001, ""};  // the truth: the same cost, within the noise
  }
};

TuneResult tune_with(DriftingGpu& gpu, const std::string& db) {
  TuneOptions o;
  o.shape = "tiny";
  o.db = db;
  o.budget_candidates = 6;
  o.seed = 3;
  o.context = 32;
  o.start_knobs = {"sms=8"};
  return run_tune(o, &gpu, nullptr);
}

TEST(SearchInterleave, OnlyAnInterleavedWinReplacesTheBest) {
  test::TempDir tmp;
  DriftingGpu solo;
  solo.interleaves = false;
  const TuneResult drifted = tune_with(solo, tmp.file("solo.db"));
  ASSERT_TRUE(drifted.best);
  EXPECT_NE(drifted.best->id, 1) << "solo times that drift crown a later candidate";
  {
    TuneStore store(tmp.file("solo.db"), false);
    EXPECT_NE(store.candidate(2)->log.find("does not time plans interleaved"), std::string::npos) << store.candidate(2)->log;
  }

  DriftingGpu gpu;
  const TuneResult r = tune_with(gpu, tmp.file("interleaved.db"));
  ASSERT_GT(gpu.measured, 2);
  EXPECT_EQ(gpu.compared, gpu.measured - 1) << "every measured candidate after the root beat the best solo";
  ASSERT_TRUE(r.best);
  EXPECT_EQ(r.best->id, 1) << "no candidate is faster interleaved";
  TuneStore store(tmp.file("interleaved.db"), false);
  for (const CandidateRecord& c : store.candidates(-1)) {
    if (c.id == 1 || c.status != CandidateStatus::Ok) continue;
    EXPECT_NE(c.log.find("interleaved with the best (candidate 1, 50 pairs): ratio median 0.9990"), std::string::npos)
        << c.log;
    EXPECT_NEAR(c.cost_s, 0.999 * store.candidate(1)->cost_s, 1e-12) << "the cost is the best's time x the median ratio";
    EXPECT_NEAR(c.spread, 0.004 / 0.999, 1e-12);
  }
  // The report names the best the loop kept, and the cheaper-by-noise candidates apart.
  const std::string md = tune_report_markdown(store);
  EXPECT_NE(md.find("Best: candidate 1,"), std::string::npos) << md;
  EXPECT_NE(md.find("Lowest recorded cost: candidate 2,"), std::string::npos) << md;
  EXPECT_NE(md.find("within the noise of the best, so not kept"), std::string::npos) << md;
}

}  // namespace
}  // namespace tessera

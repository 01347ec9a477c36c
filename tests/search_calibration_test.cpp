// Measured runs calibrate the cost model: every candidate a GPU measurer times leaves a
// calibration row (its time and its plan's path features), and a fit to those rows predicts
// the measurer's times where the uncalibrated model does not. A fake measurer whose times
// follow the model's features with other latencies stands in for the GPU.
#include <gtest/gtest.h>

#include <cmath>

#include "search/cost_model.h"
#include "search/store.h"
#include "search/tune_loop.h"
#include "test_util.h"

namespace tessera {
namespace {

// Step time linear in the path the default model walks (the features a row records): its
// bytes at the default bandwidth, 3 us per task and 0.5 us per wait, latencies unlike the
// model's defaults. (Timing the path the true latencies would pick could differ from the
// recorded one, which no refit of the recorded features can follow exactly.)
struct LinearGpu : Measurer {
  CostParams model, truth;
  int measured = 0;
  std::string name() const override { return "linear-fake-gpu"; }
  std::string verify(const Plan&) override { return ""; }
  Measurement measure(const Plan& p) override {
    ++measured;
    const PathFeatures f = predict_step(p, model, 20).features;
    return {double(f.path_bytes) / truth.bytes_per_s_per_block + double(f.path_tasks) * truth.task_fixed_s +
                double(f.path_waits) * truth.wait_latency_s,
            0.003, ""};
  }
};

TEST(SearchCalibration, MeasuredCandidatesBecomeRowsThatRefitTheModel) {
  test::TempDir tmp;
  const Target target = target_preset("sm_90a");
  LinearGpu gpu;
  gpu.model = default_cost_params(target);
  gpu.truth = gpu.model;
  gpu.truth.task_fixed_s = 3e-6;
  gpu.truth.wait_latency_s = 0.5e-6;
  TuneOptions o;
  o.shape = "tiny";
  o.db = tmp.file("tiny.db");
  o.budget_candidates = 8;
  o.seed = 4;
  o.context = 32;
  o.position = 20;
  o.start_knobs = {"sms=8"};
  const TuneResult r = run_tune(o, &gpu, nullptr);
  ASSERT_GT(gpu.measured, 2);

  TuneStore store(o.db, false);
  int ok_measured = 0;
  for (const CandidateRecord& c : store.candidates(-1))
    ok_measured += c.status == CandidateStatus::Ok && c.cost_kind == CostKind::Measured;
  const std::vector<CalibrationRecord> rows = store.calibration("sm_90a");
  EXPECT_EQ(int(rows.size()), ok_measured);
  EXPECT_EQ(int(rows.size()), gpu.measured);
  for (const CalibrationRecord& row : rows) {
    EXPECT_EQ(row.position, 20);
    EXPECT_DOUBLE_EQ(row.spread, 0.003);
    EXPECT_GT(row.features.value("path_tasks", 0), 0) << row.features.dump();
    EXPECT_FALSE(row.plan_hash.empty());
  }

  // The rows, read back as the next run reads them, refit the model to the measurer.
  const std::vector<CalibrationSample> samples = calibration_samples(store, "sm_90a");
  ASSERT_EQ(samples.size(), rows.size());
  const CostParams start = default_cost_params(target);
  const CostParams fit = calibrate(samples, start, samples.size() >= 3);
  auto predict = [](const CostParams& p, const PathFeatures& f) {
    return double(f.path_bytes) / p.bytes_per_s_per_block + double(f.path_tasks) * p.task_fixed_s +
           double(f.path_waits) * p.wait_latency_s;
  };
  double worst_default = 0, worst_fit = 0;
  for (const CalibrationSample& s : samples) {
    worst_default = std::max(worst_default, std::fabs(predict(start, s.features) / s.measured_s - 1));
    worst_fit = std::max(worst_fit, std::fabs(predict(fit, s.features) / s.measured_s - 1));
  }
  EXPECT_GT(worst_default, 0.05) << "the defaults already predict the fake: the test shows nothing";
  EXPECT_LT(worst_fit, 1e-3) << fit.source;
  EXPECT_EQ(fit.source, fmt::format("calibrated on {} measured step times", samples.size()));
}

}  // namespace
}  // namespace tessera

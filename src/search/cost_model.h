// The predicted cost of a plan: its critical path under a bandwidth-plus-latency model
// (plan_stats' graph walk with PathCosts), so the search can run without a GPU. Every
// number it returns is a prediction and is labelled CostKind::Predicted wherever it is
// stored or shown; measured step times (the store's calibration table) refit it.
//
// Along the critical path the model is exactly linear in its parameters:
//   t = path_bytes / bytes_per_s_per_block + path_tasks * task_fixed_s + path_waits * wait_latency_s
// so calibration is least squares on those three features, repeated because the path
// itself moves when the parameters do.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "search/store.h"

namespace tessera {

struct CostParams {
  double bytes_per_s_per_block = 0;
  double task_fixed_s = 0;
  double wait_latency_s = 0;
  std::string source;  // where the numbers come from, shown in reports
};

// Defaults for `target`, fitted to the H100 measurements in docs/PERF.md (see cost_model.cpp
// for the numbers and how). For other targets the per-block bandwidth is scaled by SM
// count and the latencies kept; `source` says they are uncalibrated there.
CostParams default_cost_params(const Target& target);

struct PathFeatures {
  int64_t path_bytes = 0;
  int64_t path_tasks = 0;
  int64_t path_waits = 0;
};

struct Prediction {
  double seconds = 0;  // predicted, never measured
  PathFeatures features;
  // The predicted timeline: every task's start and finish, by task id (plan_stats).
  std::vector<double> task_start_s, task_finish_s;
};

// Throws tessera::Error for a plan with a dependency cycle or unsatisfiable waits (the
// validator rejects those first in the search).
Prediction predict_step(const Plan& plan, const CostParams& params, int64_t pos);

struct CalibrationSample {
  const Plan* plan = nullptr;  // when given, features are recomputed as the fit moves
  PathFeatures features;       // used when plan is null
  int64_t pos = 0;
  double measured_s = 0;
};

// Fits the three parameters (non-negative; bandwidth positive) minimising the squared
// relative error over the samples, starting from `start`. With fit_bandwidth false the
// bandwidth is kept and only the latencies are fitted. Throws tessera::Error for no
// samples or non-positive times.
CostParams calibrate(const std::vector<CalibrationSample>& samples, const CostParams& start, bool fit_bandwidth);

// The store's calibration rows for a target, as samples (features as recorded).
std::vector<CalibrationSample> calibration_samples(const TuneStore& store, const std::string& target);
nlohmann::json features_to_json(const PathFeatures& f);

}  // namespace tessera

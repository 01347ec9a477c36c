// The fit enumerates which parameters are free (at most three, so at most four subsets
// with the bandwidth always free) and solves each subset's normal equations directly:
// a non-negative least-squares solver would be more general, but three unknowns do not
// justify one. Rows are weighted by 1/measured so a 9 ms step and a 1 ms step count alike.
#include "search/cost_model.h"

#include <array>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/error.h"
#include "plan/plan_stats.h"

namespace tessera {

// H100 SXM (sm_90a, 132 SMs). The bandwidth is the device copy ceiling measured in every
// H100 run (3.0 TB/s read + write) shared by 132 blocks, held rather than fitted: a free
// fit lands above the ceiling (3.6 TB/s), fitting the small shapes' latency with bandwidth
// it does not have, and then predicts the 8B worse. The latencies are calibrate() fitted,
// bandwidth held, to the 240 step times that measured tunes on an H100 recorded with
// their path features (docs/perf/tune_h100_*_eleventh.json and the tenth session's
// 1B context-128 dump; docs/PERF.md, eleventh session): llama-3.2-1b at positions 1, 64
// and 512 (contexts 16, 128, 1024), qwen2.5-0.5b, smollm2-135m and llama-3-8b at position
// 1; knob mutations and structural rewrites of the default plans.
// tests/search_cost_model_test.cpp re-derives both values from those rows. Mean relative
// error over the rows 9.4%; the worst, 51-64%, are plans with larger down tiles, whose path
// block streams faster than its 1/132 share while others idle. The four-point fit before
// this (7.2 us per task, no wait latency) was off by 30% on average.
constexpr double kH100CopyBytesPerS = 3.0e12;
constexpr int kH100Sms = 132;
// Now that the rows vary blocks, tiles, counter granularity and norm fusion independently,
// the fit separates a task's fixed cost (prologue, ramp, drain) from a counter round trip.
constexpr double kH100TaskFixedS = 3.3263404275403088e-06;
constexpr double kH100WaitLatencyS = 1.3079779009382608e-06;

CostParams default_cost_params(const Target& target) {
  CostParams p;
  p.bytes_per_s_per_block = kH100CopyBytesPerS / kH100Sms;
  p.task_fixed_s = kH100TaskFixedS;
  p.wait_latency_s = kH100WaitLatencyS;
  p.source = "H100 (docs/PERF.md, 2026-11-22): 3.0 TB/s copy bandwidth, latencies fitted to 240 measured step times";
  if (target.arch != "sm_90a") {
    // Same per-SM bandwidth share: the roughest guess that still ranks plans for a target.
    p.source = fmt::format("uncalibrated for {}: H100 parameters", target.arch);
  }
  return p;
}

// Not modelled: the weight ring (knob pipeline_stages; measured 1.45-1.55x slower at 4 and
// 8 stages on an H100, equal at 2: docs/PERF.md, eleventh session), the matvec's threads
// per block and rows per warp (knobs threads, rows_per_warp: the model's per-block
// bandwidth does not depend on how a block's warps share a tile), and the plan's L2
// prefetch hints (TaskParams::l2_prefetch, knobs o_prefetch,
// gate_up_prefetch_kib, qkv_prefetch_kib and down_prefetch_kib, which the search varies).
// The model has one per-block bandwidth and no L2, so a hint changes none of the path's
// features and plans that differ only in their hints predict the same step: the model
// claims no gain for them and only measured runs rank them. Reading a hint as bytes taken
// off the path would not be honest: that reading predicted -40 us per 1B step for the
// o-proj hint where 0.2% was measured, and it cannot see 256 KiB per gate/up matrix
// overflowing L2 (docs/PERF.md, seventh session).
Prediction predict_step(const Plan& plan, const CostParams& params, int64_t pos) {
  PlanStats st = plan_stats(plan, PathCosts{params.bytes_per_s_per_block, params.task_fixed_s, params.wait_latency_s},
                            pos, "cost model");
  if (st.critical_path_s < 0)
    fail("cost model: plan '{}' has no critical path (a dependency cycle or an unsatisfiable wait)", plan.model);
  Prediction p;
  p.seconds = st.critical_path_s;
  p.features = {st.critical_path_bytes, st.critical_path_tasks, st.critical_path_waits};
  p.task_start_s = std::move(st.task_start_s);
  p.task_finish_s = std::move(st.task_finish_s);
  return p;
}

nlohmann::json features_to_json(const PathFeatures& f) {
  return {{"path_bytes", f.path_bytes}, {"path_tasks", f.path_tasks}, {"path_waits", f.path_waits}};
}

namespace {

// Solves the k x k system a x = b (k <= 3) by Gaussian elimination with partial pivoting;
// false when singular.
bool solve(std::array<std::array<double, 3>, 3> a, std::array<double, 3> b, int k, std::array<double, 3>* x) {
  for (int c = 0; c < k; ++c) {
    int piv = c;
    for (int r = c + 1; r < k; ++r)
      if (std::fabs(a[size_t(r)][size_t(c)]) > std::fabs(a[size_t(piv)][size_t(c)])) piv = r;
    if (std::fabs(a[size_t(piv)][size_t(c)]) < 1e-300) return false;
    std::swap(a[size_t(c)], a[size_t(piv)]);
    std::swap(b[size_t(c)], b[size_t(piv)]);
    for (int r = c + 1; r < k; ++r) {
      double f = a[size_t(r)][size_t(c)] / a[size_t(c)][size_t(c)];
      for (int j = c; j < k; ++j) a[size_t(r)][size_t(j)] -= f * a[size_t(c)][size_t(j)];
      b[size_t(r)] -= f * b[size_t(c)];
    }
  }
  for (int r = k - 1; r >= 0; --r) {
    double s = b[size_t(r)];
    for (int j = r + 1; j < k; ++j) s -= a[size_t(r)][size_t(j)] * (*x)[size_t(j)];
    (*x)[size_t(r)] = s / a[size_t(r)][size_t(r)];
  }
  return true;
}

// One least-squares fit on fixed features. Unknowns: (1/bandwidth, task_fixed, wait_latency).
CostParams fit_once(const std::vector<std::array<double, 3>>& feats, const std::vector<double>& times,
                    const CostParams& start, bool fit_bandwidth) {
  const double inv_bw0 = 1.0 / start.bytes_per_s_per_block;
  double best_err = std::numeric_limits<double>::infinity();
  CostParams best = start;
  // Subsets of {task_fixed, wait_latency} that are free; the bandwidth is free when asked.
  for (int mask = 0; mask < 4; ++mask) {
    std::vector<int> free;
    if (fit_bandwidth) free.push_back(0);
    if (mask & 1) free.push_back(1);
    if (mask & 2) free.push_back(2);
    std::array<double, 3> x{};
    if (!free.empty()) {
      std::array<std::array<double, 3>, 3> a{};
      std::array<double, 3> b{};
      for (size_t i = 0; i < feats.size(); ++i) {
        const double w = 1.0 / times[i];
        // Residual target: time minus the fixed part (bandwidth when held).
        const double rhs = times[i] - (fit_bandwidth ? 0.0 : feats[i][0] * inv_bw0);
        for (size_t r = 0; r < free.size(); ++r) {
          for (size_t c = 0; c < free.size(); ++c)
            a[r][c] += w * w * feats[i][size_t(free[r])] * feats[i][size_t(free[c])];
          b[r] += w * w * feats[i][size_t(free[r])] * rhs;
        }
      }
      if (!solve(a, b, int(free.size()), &x)) continue;
    }
    std::array<double, 3> v{fit_bandwidth ? 0.0 : inv_bw0, 0.0, 0.0};
    bool ok = true;
    for (size_t r = 0; r < free.size(); ++r) {
      v[size_t(free[r])] = x[r];
      if (!(x[r] >= 0) || !std::isfinite(x[r])) ok = false;
    }
    if (!ok || !(v[0] > 0)) continue;
    double err = 0;
    for (size_t i = 0; i < feats.size(); ++i) {
      double pred = feats[i][0] * v[0] + feats[i][1] * v[1] + feats[i][2] * v[2];
      err += std::pow((pred - times[i]) / times[i], 2);
    }
    if (err < best_err) {
      best_err = err;
      best.bytes_per_s_per_block = 1.0 / v[0];
      best.task_fixed_s = v[1];
      best.wait_latency_s = v[2];
    }
  }
  if (!std::isfinite(best_err)) fail("calibrate: no non-negative fit exists for these samples");
  return best;
}

}  // namespace

CostParams calibrate(const std::vector<CalibrationSample>& samples, const CostParams& start, bool fit_bandwidth) {
  if (samples.empty()) fail("calibrate: no measured samples");
  if (!(start.bytes_per_s_per_block > 0)) fail("calibrate: the starting bandwidth must be positive");
  for (const CalibrationSample& s : samples)
    if (!(s.measured_s > 0) || !std::isfinite(s.measured_s))
      fail("calibrate: measured time {} s must be a positive number", s.measured_s);
  CostParams p = start;
  std::vector<double> times;
  for (const CalibrationSample& s : samples) times.push_back(s.measured_s);
  // The path depends on the parameters; a few rounds settle it (each round can only pick
  // a path at least as long as the previous round's under the new parameters).
  for (int round = 0; round < 6; ++round) {
    std::vector<std::array<double, 3>> feats;
    for (const CalibrationSample& s : samples) {
      PathFeatures f = s.plan ? predict_step(*s.plan, p, s.pos).features : s.features;
      feats.push_back({double(f.path_bytes), double(f.path_tasks), double(f.path_waits)});
    }
    CostParams next = fit_once(feats, times, p, fit_bandwidth);
    bool settled = std::fabs(next.task_fixed_s - p.task_fixed_s) <= 1e-12 &&
                   std::fabs(next.wait_latency_s - p.wait_latency_s) <= 1e-12 &&
                   std::fabs(next.bytes_per_s_per_block / p.bytes_per_s_per_block - 1) < 1e-9;
    p = next;
    bool any_plan = false;
    for (const CalibrationSample& s : samples) any_plan |= s.plan != nullptr;
    if (settled || !any_plan) break;
  }
  p.source = fmt::format("calibrated on {} measured step time{}", samples.size(), samples.size() == 1 ? "" : "s");
  return p;
}

std::vector<CalibrationSample> calibration_samples(const TuneStore& store, const std::string& target) {
  std::vector<CalibrationSample> out;
  for (const CalibrationRecord& r : store.calibration(target)) {
    CalibrationSample s;
    auto get = [&](const char* key) -> int64_t {
      if (!r.features.is_object() || !r.features.contains(key) || !r.features[key].is_number_integer())
        fail("tuning database '{}': calibration row {} lacks feature '{}'", store.path(), r.id, key);
      return r.features[key].get<int64_t>();
    };
    s.features = {get("path_bytes"), get("path_tasks"), get("path_waits")};
    s.pos = r.position;
    s.measured_s = r.measured_s;
    out.push_back(s);
  }
  return out;
}

}  // namespace tessera

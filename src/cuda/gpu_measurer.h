// The search's Measurer on a CUDA device (search/evaluate.h): the two GPU rungs of the
// evaluation ladder. verify() runs the candidate plan teacher-forced beside the CPU
// reference engine on the same weights (src/verify/backend_check.h) and rejects it on a
// logit error above the bf16 bound or an argmax flip that is not a near-tie; measure()
// times it exactly as `tessera bench` does (warm-up, CUDA events, median, floor guard
// against the ceilings measured once at construction), then traces a few more steps for
// each instruction kind's time (search/kind_times.h, the Pareto policy's axis); compare() times a candidate
// interleaved with the current best as `bench --compare` does. The model's weights must be
// bf16-exact (the caller rounds them), so the reference sees the numbers the GPU uploads.
#pragma once

#include <cstdint>
#include <string>

#include "bench/record.h"
#include "model/model.h"
#include "search/evaluate.h"

namespace tessera {

struct GpuMeasurerOptions {
  int64_t position = 1;    // the step position timed
  int warmup = 10, steps = 100;
  int verify_steps = 2;    // greedy steps checked after a one-token prompt
  double tolerance = 2e-2; // bf16 weights and KV cache (docs/VERIFICATION.md)
  int trace_steps = 5;     // traced steps after the timed ones, for the per-kind times (0: none)
};

class GpuMeasurer : public Measurer {
 public:
  // Measures the device's ceilings (a few seconds); throws tessera::Error without a device.
  GpuMeasurer(const Model& model, const GpuMeasurerOptions& options);
  std::string name() const override;
  std::string verify(const Plan& plan) override;
  Measurement measure(const Plan& plan) override;
  // bench --compare's interleaving (cuda/bench_gpu.h compare), `steps` pairs after the warm-up.
  PairedRatio compare(const Plan& candidate, const Plan& reference) override;
  const Ceilings& ceilings() const { return ceilings_; }

 private:
  const Model& model_;
  GpuMeasurerOptions opt_;
  Ceilings ceilings_;
  std::string device_;
};

}  // namespace tessera

// The GPU measurer of a tuning run, for `tessera tune --measure gpu` and `tessera agent
// --measure gpu` alike: the tuned model (a built-in shape with seed 0, as the tuner makes
// it, or a model file) with its weights rounded to bf16, so the reference sees exactly what
// the GPU runs, and the cuda/gpu_measurer.h Measurer that verifies and times candidates on
// it. CUDA builds only; elsewhere make_gpu_tuning_measurer fails naming the build.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "search/evaluate.h"

namespace tessera::cli {

class GpuTuningMeasurer {
 public:
  virtual ~GpuTuningMeasurer() = default;
  virtual Measurer& measurer() = 0;
};

// `who` prefixes the progress line (device, ceilings) printed to stderr.
std::unique_ptr<GpuTuningMeasurer> make_gpu_tuning_measurer(const std::string& shape, const std::string& model_path,
                                                            int64_t position, int steps, const std::string& who);

}  // namespace tessera::cli

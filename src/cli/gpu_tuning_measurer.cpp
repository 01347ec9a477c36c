#include "cli/gpu_tuning_measurer.h"

#include <fmt/format.h>

#include "core/error.h"

#ifdef TESSERA_HAVE_CUDA
#include "cli/backends.h"
#include "cli/common.h"
#include "cuda/gpu_measurer.h"
#include "emulate/shape_model.h"
#endif

namespace tessera::cli {

#ifdef TESSERA_HAVE_CUDA
namespace {

class Owned : public GpuTuningMeasurer {
 public:
  Owned(const std::string& shape, const std::string& model_path, int64_t position, int steps)
      : model_(shape.empty() ? load_model_verbose(model_path) : shape_model(shape, 0)) {
    round_weights_to_bf16(model_);
    GpuMeasurerOptions g;
    g.position = position;
    g.steps = steps;
    gpu_ = std::make_unique<GpuMeasurer>(model_, g);
  }
  Measurer& measurer() override { return *gpu_; }
  const GpuMeasurer& gpu() const { return *gpu_; }

 private:
  Model model_;
  std::unique_ptr<GpuMeasurer> gpu_;  // holds a reference to model_
};

}  // namespace
#endif

std::unique_ptr<GpuTuningMeasurer> make_gpu_tuning_measurer(const std::string& shape, const std::string& model_path,
                                                            int64_t position, int steps, const std::string& who) {
  if (steps < 1) throw UsageError(fmt::format("{}: --gpu-steps must be >= 1", who));
  if (shape.empty() == model_path.empty()) fail("{} --measure gpu: the run names neither a shape nor a model file", who);
#ifdef TESSERA_HAVE_CUDA
  auto m = std::make_unique<Owned>(shape, model_path, position, steps);
  fmt::print(stderr, "{}: measuring {} at position {} on {} (copy {:.0f} GB/s, matmul {:.1f} TFLOP/s)\n", who,
             shape.empty() ? model_path : shape, position, m->gpu().name(), m->gpu().ceilings().copy_gbps,
             m->gpu().ceilings().matmul_tflops);
  return m;
#else
  (void)position;
  fail("{} --measure gpu: this tessera was built without a CUDA toolkit", who);
#endif
}

}  // namespace tessera::cli

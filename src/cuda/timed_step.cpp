// make_timed_step: the bench harness's one way to get a timed backend.
#include "cuda/timed_step.h"

#include "core/error.h"
#include "cuda/runtime.h"

namespace tessera {

namespace {

// The megakernel owns its engine (weights, caches, plan on the GPU) and enqueues the
// PlanRunner's launch.
class MegakernelStep : public TimedStep {
 public:
  MegakernelStep(const Plan& plan, const Model& model) : plan_(plan), engine_(plan_, model) {}
  std::string name() const override { return "megakernel"; }
  void enqueue(int64_t pos, void* stream) override { engine_.runner().enqueue(pos, stream); }
  void check_after_sync() override { engine_.runner().check_after_sync(); }
  int64_t context() const override { return plan_.context; }
  PlanRunner* runner() override { return &engine_.runner(); }

 private:
  Plan plan_;  // the engine refers to it: declared first so it outlives the engine
  CudaEngine engine_;
};

}  // namespace

std::unique_ptr<TimedStep> make_timed_step(const std::string& backend, const Model& model,
                                           const Plan* plan, int context) {
  if (backend == "megakernel") {
    if (!plan) fail("make_timed_step: the megakernel backend needs a plan");
    return std::make_unique<MegakernelStep>(*plan, model);
  }
  if (backend == "ops") return make_ops_step(model, context, false);
  if (backend == "ops-graph") return make_ops_step(model, context, true);
  fail("unknown bench backend '{}': expected megakernel, ops or ops-graph", backend);
}

}  // namespace tessera

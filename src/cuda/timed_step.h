// What the bench harness times: one decode step of a GPU backend, enqueued on a stream
// without any host synchronisation, so CUDA events around it measure the GPU alone.
// Implemented by the megakernel (a CudaEngine's PlanRunner), `ops` (one kernel per
// operation, cuBLAS for the products) and `ops-graph` (the same captured in a CUDA graph).
// All three hold the same numerics class: bf16 weights, bf16 KV cache, fp32 activations
// and accumulation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "model/model.h"
#include "plan/plan.h"

namespace tessera {

class PlanRunner;

class TimedStep {
 public:
  virtual ~TimedStep() = default;
  virtual std::string name() const = 0;  // "megakernel", "ops", "ops-graph"
  // One decode step at `pos` (0 <= pos < context()) on `stream` (a cudaStream_t). The token
  // it reads is whatever the backend's token input holds; the KV cache rows below pos hold
  // whatever earlier steps left (timing does not depend on their values).
  virtual void enqueue(int64_t pos, void* stream) = 0;
  // After the caller synchronised the stream: throws tessera::Error if any enqueued step
  // failed (CUDA error, the megakernel's watchdog).
  virtual void check_after_sync() = 0;
  virtual int64_t context() const = 0;
  // The megakernel's runner (for a traced step); nullptr for backends without a plan.
  virtual PlanRunner* runner() { return nullptr; }
};

// backend: "megakernel" (runs `plan`, which must be lowered for this model; validated),
// "ops" or "ops-graph" (plan unused). context: KV positions to allocate (ops backends;
// the megakernel's is the plan's). Throws tessera::Error naming an unknown backend.
std::unique_ptr<TimedStep> make_timed_step(const std::string& backend, const Model& model,
                                           const Plan* plan, int context);

// Implemented by the ops backend (src/cuda/ops/): "ops" when graph is false, "ops-graph"
// when true.
std::unique_ptr<TimedStep> make_ops_step(const Model& model, int context, bool graph);

}  // namespace tessera

// Storage behind every buffer of a plan the emulator runs, bound to a model.
//
// Weights are views into the model's tensors when the dtype already matches (a 1B f32
// model is not copied) and converted copies otherwise; everything else is owned here.
// The storage dtype of a float buffer is f32 in "fp32" numerics whatever the plan says
// (so the emulator computes what the fp32 reference engine computes) and the plan's dtype
// in "gpu" numerics (bf16 weights and caches, rounded where the GPU rounds).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "emulate/emulator.h"
#include "emulate/instructions_cpu.h"
#include "model/model.h"
#include "plan/plan.h"

namespace tessera {

struct PlanStorage {
  std::vector<BufferData> bufs;  // bufs[i] backs plan.buffers[i]
  std::vector<std::unique_ptr<uint8_t[]>> owned;
  int64_t owned_bytes = 0;
};

// Throws tessera::Error naming the buffer when a weight is missing from the model or has
// another shape, a constant cannot be computed or has the wrong length, a buffer kind or
// dtype is not one the emulator can hold, or the buffers do not fit in memory.
PlanStorage bind_storage(const Plan& plan, const Model& model, bool gpu_numerics,
                         const ConstantProvider& constants);

// Activations and outputs poisoned (NaN, token -1) at step entry.
void poison_step_buffers(const Plan& plan, PlanStorage& s);

}  // namespace tessera

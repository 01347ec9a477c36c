// CPU twins of the plan's instructions: the specification of every opcode in
// docs/SCHEDULE_IR.md as plain loops. The emulator runs plans with them, and every CUDA
// instruction is tested against its twin on fresh random inputs. A twin touches exactly
// the elements footprint() declares for the task, nothing else.
#pragma once

#include <cstdint>
#include <vector>

#include "plan/plan.h"

namespace tessera {

// Storage of one plan buffer. dtype may differ from the plan's (the emulator's fp32 mode
// stores bf16 weights and caches as f32); twins read and write through it, rounding to
// bf16 where the storage is bf16, exactly where the GPU rounds.
struct BufferData {
  void* data = nullptr;
  BufDType dtype = BufDType::F32;
  std::vector<int64_t> shape;
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

// Runs task `t` of `plan` for the token at position `pos`, reading and writing `bufs`
// (bufs[i] backs plan.buffers[i]). Throws tessera::Error if an operand's storage does not
// match the plan's shape.
void execute_task(const Plan& plan, const Task& t, std::vector<BufferData>& bufs, int64_t pos);

}  // namespace tessera

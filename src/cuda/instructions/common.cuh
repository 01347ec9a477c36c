// What every instruction receives: the kernel arguments (buffers, pos), the task, and the
// block's dynamic shared memory. Shared memory layout, fixed for all instructions so the
// runtime can size it from the plan alone (runtime.cpp, smem_floats()):
//   [0, 32) floats    reduction scratch (values)
//   [32, 64) ints     reduction scratch (indices)
//   [64, ...)         the instruction's working set (input vector, scores, staged rows)
//   [ring_offset, +ring_bytes)  the weight stream's ring (weight_stream.cuh), bytes
#pragma once

#include "cuda/device/block_descriptors.cuh"
#include "cuda/device/loads.cuh"
#include "cuda/device/reduce.cuh"
#include "cuda/device/sync.cuh"
#include "cuda/device_plan.h"

namespace tessera::cuda {

inline constexpr int kScratchFloats = kScratchFloatsHost;

struct Ctx {
  const KernelArgs& a;
  const DevTask& t;
  float* scratch;       // 32 floats
  int* scratch_i;       // 32 ints
  float* work;          // 16-byte aligned
  float* smem;          // start of dynamic shared memory (the weight ring's offset is from here)
  const DevBuffer* bufs;  // block_buffers(): shared memory when the descriptors fit there
  __device__ const DevBuffer& buf(int32_t id) const { return bufs[id]; }
};

// Where the running task's phase stamps go while a step is traced (KernelArgs::trace; null
// otherwise), set by thread 0 before the instruction runs. In shared memory rather than in
// Ctx: the kernel sits at the register limit, and only thread 0 reads it.
__device__ __forceinline__ unsigned long long*& phase_stamps() {
  __shared__ unsigned long long* p;
  return p;
}

// Thread 0 stamps the end of a phase of the running task (kTraceInput: its input is in
// shared memory; kTraceBody: its rows are computed), when the step is traced. Call it where
// the whole block has passed a barrier, so the stamp stands for every thread.
__device__ __forceinline__ void mark_phase(int phase) {
  if (threadIdx.x == 0 && phase_stamps() != nullptr) phase_stamps()[phase] = global_timer_ns();
}

}  // namespace tessera::cuda

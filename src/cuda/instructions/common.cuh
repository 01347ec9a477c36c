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

}  // namespace tessera::cuda

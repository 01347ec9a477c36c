// The plan's descriptors a block reads (its queue's tasks, every buffer), copied into shared
// memory once per launch when they fit (KernelArgs::desc_offset >= 0). Why: every counter
// wait is an acquire at GPU scope, after which L1 no longer serves them, so a task reading
// its descriptors from global memory pays a chain of dependent L2 round trips (the task,
// then its buffers) before any work: ~4 us per task measured on an H200 (docs/PERF.md,
// fourth session), a fifth of a 1B decode step. An acquire does not touch shared memory.
#pragma once

#include <cstdint>

#include "cuda/device_plan.h"

namespace tessera::cuda {

// Layout at desc_offset: [int32 queue begin, padding to kDescHeaderBytes] [buffers, padded
// to 16 bytes] [the queue's tasks] (desc_bytes in device_plan.h sizes it).

__device__ __forceinline__ char* desc_base(const KernelArgs& a, float* smem) {
  return reinterpret_cast<char*>(smem) + a.desc_offset;
}

__device__ __forceinline__ const DevBuffer* block_buffers(const KernelArgs& a, float* smem) {
  if (a.desc_offset < 0) return a.buffers;
  return reinterpret_cast<const DevBuffer*>(desc_base(a, smem) + kDescHeaderBytes);
}

// Queue position k's task (k in [queue_offsets[b], queue_offsets[b + 1])).
__device__ __forceinline__ const DevTask& block_task(const KernelArgs& a, float* smem, int32_t k) {
  if (a.desc_offset < 0) return a.tasks[a.queue_tasks[k]];
  char* base = desc_base(a, smem);
  const int32_t first = *reinterpret_cast<const int32_t*>(base);
  const int64_t buf_bytes = (int64_t(a.buffer_count) * int64_t(sizeof(DevBuffer)) + 15) / 16 * 16;
  return reinterpret_cast<const DevTask*>(base + kDescHeaderBytes + buf_bytes)[k - first];
}

// Once per launch, by the whole block; ends with a block barrier.
__device__ inline void load_block_descriptors(const KernelArgs& a, float* smem) {
  if (a.desc_offset < 0) return;
  char* base = desc_base(a, smem);
  const int32_t first = a.queue_offsets[blockIdx.x], count = a.queue_offsets[blockIdx.x + 1] - first;
  if (threadIdx.x == 0) *reinterpret_cast<int32_t*>(base) = first;
  constexpr int kBufWords = int(sizeof(DevBuffer) / 4), kTaskWords = int(sizeof(DevTask) / 4);
  const int64_t buf_bytes = (int64_t(a.buffer_count) * int64_t(sizeof(DevBuffer)) + 15) / 16 * 16;
  uint32_t* bufs = reinterpret_cast<uint32_t*>(base + kDescHeaderBytes);
  const uint32_t* gbufs = reinterpret_cast<const uint32_t*>(a.buffers);
  for (int64_t i = threadIdx.x; i < int64_t(a.buffer_count) * kBufWords; i += blockDim.x) bufs[i] = __ldg(gbufs + i);
  uint32_t* tasks = reinterpret_cast<uint32_t*>(base + kDescHeaderBytes + buf_bytes);
  for (int64_t i = threadIdx.x; i < int64_t(count) * kTaskWords; i += blockDim.x) {
    const int32_t task = __ldg(a.queue_tasks + first + i / kTaskWords);
    tasks[i] = __ldg(reinterpret_cast<const uint32_t*>(a.tasks + task) + i % kTaskWords);
  }
  __syncthreads();
}

}  // namespace tessera::cuda

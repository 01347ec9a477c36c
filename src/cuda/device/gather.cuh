// Copies of short vectors (an instruction's input vector, its residual rows, a norm weight,
// cached K/V rows) from global into shared memory, all in one memory round trip. A plain
// copy loop costs a round trip per few elements: the compiler cannot move a load of the
// source above a store to shared memory it cannot prove distinct, so it issues a handful
// of loads and waits. Staging through registers bounds the trip by registers (the fourth
// session's version: four 16-byte units per thread, so the 1B's down input, 8 K floats,
// took three trips and the 8B's four). Here every thread issues asynchronous 16-byte
// copies (cp.async, sm_80 and later) for all of its units before it waits once: the
// units in flight are bounded by nothing but the vector's length, and no register holds
// them.
//
// bf16 segments arrive as bf16, two to a float of the destination (read them with
// shared_elem); f32 segments as f32. The copies go through L2 only (.cg): activations are
// written by other blocks in this launch, and L1 is not coherent with their writes.
#pragma once

#include <cstdint>

#include "cuda/device/loads.cuh"

namespace tessera::cuda {

struct GatherSeg {
  void* dst = nullptr;         // shared memory
  const void* src = nullptr;   // global; nullptr: an unused segment
  int32_t dtype = 0;           // 0 f32, 1 bf16
  bool read_only = false;      // weights: through the read-only path (element fallback only)
  int64_t n = 0;               // elements
};

// Element i of a gathered segment: bf16 kept two to a float, or f32.
template <class I>
__device__ __forceinline__ float shared_elem(const float* base, bool bf16, I i) {
  return bf16 ? bf16_bits_to_float(reinterpret_cast<const uint16_t*>(base)[i]) : base[i];
}

__device__ __forceinline__ int64_t gather_bytes(const GatherSeg& s) { return s.n * (s.dtype == 1 ? 2 : 4); }

__device__ __forceinline__ bool gather_vectorizable(const GatherSeg& s) {
  return s.src == nullptr ||
         ((reinterpret_cast<uintptr_t>(s.src) & 15) == 0 && (reinterpret_cast<uintptr_t>(s.dst) & 15) == 0 &&
          gather_bytes(s) % 16 == 0);
}

__device__ __forceinline__ void copy16_async(void* dst, const void* src) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned d = unsigned(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(d), "l"(src) : "memory");
#else
  *static_cast<uint4*>(dst) = *static_cast<const uint4*>(src);
#endif
}

// Waits for this thread's copies; the caller's next barrier makes everyone's visible.
__device__ __forceinline__ void copies_wait_all() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_all;" ::: "memory");
#endif
}

__device__ __forceinline__ void gather_issue(const GatherSeg& s) {
  if (!s.src) return;
  const int64_t units = gather_bytes(s) / 16;
  for (int64_t u = threadIdx.x; u < units; u += blockDim.x)
    copy16_async(static_cast<uint4*>(s.dst) + u, static_cast<const uint4*>(s.src) + u);
}

__device__ inline void gather_elements(const GatherSeg& s) {
  if (!s.src) return;
  if (s.dtype == 1) {
    for (int64_t i = threadIdx.x; i < s.n; i += blockDim.x)
      static_cast<uint16_t*>(s.dst)[i] = static_cast<const uint16_t*>(s.src)[i];
    return;
  }
  for (int64_t i = threadIdx.x; i < s.n; i += blockDim.x)
    static_cast<float*>(s.dst)[i] = s.read_only ? load_ro(s.src, 0, i) : load_rw(s.src, 0, i);
}

// Every thread of the block, for up to four segments; the caller's next barrier makes the
// copies visible. (Named segments, not an array: an array of them indexed in the loops
// lands on the stack.)
__device__ inline void gather_to_shared(const GatherSeg& s0, const GatherSeg& s1, const GatherSeg& s2,
                                        const GatherSeg& s3 = {}) {
  if (!gather_vectorizable(s0) || !gather_vectorizable(s1) || !gather_vectorizable(s2) || !gather_vectorizable(s3)) {
    // odd sizes or alignments (test shapes): element by element
    gather_elements(s0);
    gather_elements(s1);
    gather_elements(s2);
    gather_elements(s3);
    return;
  }
  gather_issue(s0);
  gather_issue(s1);
  gather_issue(s2);
  gather_issue(s3);
  copies_wait_all();
}

}  // namespace tessera::cuda

// Copies of short vectors (an instruction's input vector, its residual rows, a norm weight)
// from global into shared memory as floats, all in one memory round trip. A plain copy
// loop costs a round trip per few elements: the compiler cannot move a load of the source
// above a store to shared memory it cannot prove distinct, so it issues a handful of loads
// and waits. Here each thread loads up to kGatherUnroll 16-byte units of every segment
// into registers before it stores any; under a busy memory system, where one round trip is
// microseconds (docs/PERF.md), that is the difference between one trip and eight.
#pragma once

#include <cstdint>

#include "cuda/device/loads.cuh"

namespace tessera::cuda {

inline constexpr int kGatherUnroll = 4;

struct GatherSeg {
  float* dst = nullptr;        // shared memory
  const void* src = nullptr;   // global; nullptr: an unused segment
  int32_t dtype = 0;           // 0 f32, 1 bf16
  bool read_only = false;      // weights: through the read-only path
  int64_t n = 0;               // elements
  bool raw = false;            // bf16 kept as bf16 (two to a float of dst), not widened
};

__device__ __forceinline__ int gather_per_unit(const GatherSeg& s) { return s.dtype == 1 ? 8 : 4; }

__device__ __forceinline__ bool gather_vectorizable(const GatherSeg& s) {
  return s.src == nullptr ||
         ((reinterpret_cast<uintptr_t>(s.src) & 15) == 0 && (reinterpret_cast<uintptr_t>(s.dst) & 15) == 0 &&
          s.n % gather_per_unit(s) == 0);
}

__device__ __forceinline__ uint4 gather_load(const GatherSeg& s, int64_t u) {
  const uint4* p = static_cast<const uint4*>(s.src) + u;
  if (s.read_only) return __ldg(p);
  return *p;  // an activation written earlier in this launch: a coherent load
}

__device__ __forceinline__ void gather_store(const GatherSeg& s, int64_t u, const uint4& v) {
  float* d = s.dst + u * (s.raw ? 4 : gather_per_unit(s));
  if (s.dtype == 1 && !s.raw) {
    float f[8];
    unpack_bf16x8(v, f);
    reinterpret_cast<float4*>(d)[0] = make_float4(f[0], f[1], f[2], f[3]);
    reinterpret_cast<float4*>(d)[1] = make_float4(f[4], f[5], f[6], f[7]);
  } else {
    reinterpret_cast<uint4*>(d)[0] = v;
  }
}

__device__ __forceinline__ int64_t gather_units(const GatherSeg& s) {
  return s.src ? s.n / gather_per_unit(s) : 0;
}

__device__ inline void gather_elements(const GatherSeg& s) {
  if (!s.src) return;
  if (s.raw && s.dtype == 1) {
    for (int64_t i = threadIdx.x; i < s.n; i += blockDim.x)
      reinterpret_cast<uint16_t*>(s.dst)[i] = static_cast<const uint16_t*>(s.src)[i];
    return;
  }
  for (int64_t i = threadIdx.x; i < s.n; i += blockDim.x)
    s.dst[i] = s.read_only ? load_ro(s.src, s.dtype, i) : load_rw(s.src, s.dtype, i);
}

// Every thread of the block, for up to four segments seen as one run of 16-byte units;
// the caller's next barrier makes the copies visible. (Named segments, not an array: an
// array of them indexed in the loops lands on the stack.)
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
  const int64_t n0 = gather_units(s0), n1 = gather_units(s1), n2 = gather_units(s2);
  const int64_t total = n0 + n1 + n2 + gather_units(s3);
  for (int64_t base = 0; base < total; base += int64_t(kGatherUnroll) * blockDim.x) {
    uint4 r[kGatherUnroll];
#pragma unroll
    for (int u = 0; u < kGatherUnroll; ++u) {
      const int64_t g = base + threadIdx.x + int64_t(u) * blockDim.x;
      if (g < n0) r[u] = gather_load(s0, g);
      else if (g < n0 + n1) r[u] = gather_load(s1, g - n0);
      else if (g < n0 + n1 + n2) r[u] = gather_load(s2, g - n0 - n1);
      else if (g < total) r[u] = gather_load(s3, g - n0 - n1 - n2);
    }
#pragma unroll
    for (int u = 0; u < kGatherUnroll; ++u) {
      const int64_t g = base + threadIdx.x + int64_t(u) * blockDim.x;
      if (g < n0) gather_store(s0, g, r[u]);
      else if (g < n0 + n1) gather_store(s1, g - n0, r[u]);
      else if (g < n0 + n1 + n2) gather_store(s2, g - n0 - n1, r[u]);
      else if (g < total) gather_store(s3, g - n0 - n1 - n2, r[u]);
    }
  }
}

}  // namespace tessera::cuda

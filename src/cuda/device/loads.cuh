// Global-memory loads the instructions share. Weights (and constants) are read-only for the
// whole launch, so they go through the non-coherent path with 16-byte vectors (__ldg of a
// uint4 / float4: LDG.E.128.CONSTANT in SASS), 8 elements per load. Activations and KV
// caches are written by other blocks during the launch and must NOT use that path: they
// are read with ordinary loads after an acquire (see sync.cuh).
//
// bf16 weight rows are also marked evict-first in L2 and not kept in L1: a decode step
// streams every weight once (2.5 GB for a 1B model, 50x the H200's L2), and at normal
// priority that stream flushes what L2 should keep between uses: the activations, the KV
// rows and the kernel's own code, whose cold paths (attention, epilogues) then refetch
// from HBM. Measured on an H200: 1B step -2.3%, 8B -1.4% (docs/PERF.md, eighth session).
#pragma once

#include <cstdint>

namespace tessera::cuda {

__device__ __forceinline__ float bf16_bits_to_float(uint32_t bits16) {
  return __uint_as_float(bits16 << 16);
}

// Round to nearest even, NaN kept quiet: the same function as core/dtype.h f32_to_bf16.
__device__ __forceinline__ uint16_t float_to_bf16_bits(float f) {
  uint32_t u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

// Unpacks 8 bf16 held in a uint4 (element 0 in the low half of .x).
__device__ __forceinline__ void unpack_bf16x8(const uint4& v, float* f) {
  f[0] = __uint_as_float(v.x << 16); f[1] = __uint_as_float(v.x & 0xffff0000u);
  f[2] = __uint_as_float(v.y << 16); f[3] = __uint_as_float(v.y & 0xffff0000u);
  f[4] = __uint_as_float(v.z << 16); f[5] = __uint_as_float(v.z & 0xffff0000u);
  f[6] = __uint_as_float(v.w << 16); f[7] = __uint_as_float(v.w & 0xffff0000u);
}

// Read-only element types the weight paths are instantiated for.
struct Bf16 {
  // 8 consecutive elements starting at element index i (i % 8 == 0, base 16-byte aligned).
  struct Vec { uint4 v; };
  static __device__ __forceinline__ Vec load8(const void* base, int64_t i) {
    const uint4* p = reinterpret_cast<const uint4*>(static_cast<const uint16_t*>(base) + i);
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    uint4 v;
    uint64_t policy;
    asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
    asm("ld.global.nc.L1::no_allocate.L2::cache_hint.v4.u32 {%0, %1, %2, %3}, [%4], %5;"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
        : "l"(p), "l"(policy));
    return Vec{v};
#else
    return Vec{__ldg(p)};
#endif
  }
  static __device__ __forceinline__ void unpack(const Vec& v, float* f) { unpack_bf16x8(v.v, f); }
  static __device__ __forceinline__ float load1(const void* base, int64_t i) {
    return bf16_bits_to_float(__ldg(static_cast<const unsigned short*>(base) + i));
  }
};

struct F32 {
  struct Vec { float4 a, b; };
  static __device__ __forceinline__ Vec load8(const void* base, int64_t i) {
    const float4* p = reinterpret_cast<const float4*>(static_cast<const float*>(base) + i);
    return Vec{__ldg(p), __ldg(p + 1)};
  }
  static __device__ __forceinline__ void unpack(const Vec& v, float* f) {
    f[0] = v.a.x; f[1] = v.a.y; f[2] = v.a.z; f[3] = v.a.w;
    f[4] = v.b.x; f[5] = v.b.y; f[6] = v.b.z; f[7] = v.b.w;
  }
  static __device__ __forceinline__ float load1(const void* base, int64_t i) {
    return __ldg(static_cast<const float*>(base) + i);
  }
};

// One element of a read-only buffer of run-time dtype (norm weights, biases: short vectors
// where a branch per element costs nothing next to the matrix rows).
__device__ __forceinline__ float load_ro(const void* base, int32_t dtype, int64_t i) {
  return dtype == 1 ? Bf16::load1(base, i) : F32::load1(base, i);
}

// KV caches: written during the launch by other blocks, so coherent loads and stores.
__device__ __forceinline__ float load_rw(const void* base, int32_t dtype, int64_t i) {
  if (dtype == 1) return bf16_bits_to_float(static_cast<const uint16_t*>(base)[i]);
  return static_cast<const float*>(base)[i];
}
__device__ __forceinline__ void store_rw(void* base, int32_t dtype, int64_t i, float v) {
  if (dtype == 1) static_cast<uint16_t*>(base)[i] = float_to_bf16_bits(v);
  else static_cast<float*>(base)[i] = v;
}

}  // namespace tessera::cuda

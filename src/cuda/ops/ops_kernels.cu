// The ops baseline's kernels: what a careful C++ user writes around cuBLAS for a decode
// step, one kernel per operation, each small enough to read at a glance. Reductions are
// warp shuffles plus one shared-memory hop (device/reduce.cuh); RoPE's angle and its
// cos/sin are computed exactly as the megakernel and the CPU reference do
// (device/rope_trig.cuh), with the rotation's products kept unfused (__fmul_rn) for the
// same reason the megakernel keeps them so.
//
// Nothing here reads pos or token from a kernel argument: both live in device memory, so
// one captured CUDA graph replays every position.
#include "cuda/ops/ops_kernels.h"

#include "cuda/device/loads.cuh"
#include "cuda/device/reduce.cuh"
#include "cuda/device/rope_trig.cuh"

namespace tessera::ops {

using cuda::bf16_bits_to_float;
using cuda::block_argmax;
using cuda::block_sum;
using cuda::float_to_bf16_bits;
using cuda::warp_max;
using cuda::warp_sum;

namespace {

__device__ __forceinline__ float nan_f() { return __int_as_float(0x7fc00000); }

__device__ __forceinline__ float bf16(const uint16_t* p, int64_t i) {
  return bf16_bits_to_float(__ldg(reinterpret_cast<const unsigned short*>(p) + i));
}

__global__ void embed_kernel(const uint16_t* table, const int32_t* token, int V, int D, float* x) {
  const int32_t t = *token;
  const bool ok = t >= 0 && t < V;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < D; i += gridDim.x * blockDim.x)
    x[i] = ok ? bf16(table, int64_t(t) * D + i) : nan_f();
}

// One block: the mean of squares needs the whole vector.
__global__ void rmsnorm_bf16_kernel(const float* x, const uint16_t* g, int D, float eps, uint16_t* out) {
  __shared__ float scratch[32];
  float ss = 0.f;
  for (int i = threadIdx.x; i < D; i += blockDim.x) ss += x[i] * x[i];
  ss = block_sum(ss, scratch);
  const float r = 1.f / sqrtf(ss / float(D) + eps);
  for (int i = threadIdx.x; i < D; i += blockDim.x) out[i] = float_to_bf16_bits(bf16(g, i) * (x[i] * r));
}

// One block per head: blocks [0, H) the query heads, [H, H+G) the key heads, [H+G, H+2G)
// the value heads; one thread per element of the head.
constexpr int kMaxHeadDim = 256;

__global__ void qkv_rope_kernel(const QkvArgs a) {
  __shared__ float ys[kMaxHeadDim];
  __shared__ float scratch[32];
  const int H = a.heads, G = a.kv_heads, hd = a.head_dim, half = hd / 2;
  const int b = blockIdx.x;
  const int kind = b < H ? 0 : (b < H + G ? 1 : 2);  // q, k, v
  const int head = kind == 0 ? b : (kind == 1 ? b - H : b - H - G);
  const float* src = (kind == 0 ? a.q : kind == 1 ? a.k : a.v) + int64_t(head) * hd;
  const uint16_t* bias = kind == 0 ? a.bq : (kind == 1 ? a.bk : a.bv);
  const uint16_t* norm = kind == 0 ? a.q_norm : (kind == 1 ? a.k_norm : nullptr);
  const int i = threadIdx.x;
  const bool mine = i < hd;

  float y = mine ? src[i] : 0.f;
  if (bias && mine) y += bf16(bias, int64_t(head) * hd + i);
  if (norm) {  // block-uniform branch: every thread reaches the reduction
    const float ss = block_sum(mine ? y * y : 0.f, scratch);
    const float r = 1.f / sqrtf(ss / float(hd) + a.eps);
    if (mine) y = bf16(norm, i) * (y * r);
  }
  const int32_t pos = *a.pos;
  if (kind != 2) {
    // angle = float(inv_freq[i] * float(pos)), cos/sin in double rounded to float, as
    // engine/rope.cpp and the megakernel compute them.
    if (mine) ys[i] = y;
    __syncthreads();
    if (i < half) {
      float cs, sn;
      cuda::rope_cos_sin(__ldg(a.inv_freq + i) * float(pos), &cs, &sn);
      const float x0 = ys[i], x1 = ys[i + half];
      ys[i] = __fsub_rn(__fmul_rn(x0, cs), __fmul_rn(x1, sn));
      ys[i + half] = __fadd_rn(__fmul_rn(x1, cs), __fmul_rn(x0, sn));
    }
    __syncthreads();
    if (mine) y = ys[i];
  }
  if (!mine) return;
  const int64_t row = int64_t(pos) * G * hd + int64_t(head) * hd + i;
  if (kind == 0) a.q[int64_t(head) * hd + i] = y;
  else if (kind == 1) a.k_cache[row] = float_to_bf16_bits(y);
  else a.v_cache[row] = float_to_bf16_bits(y);
}

// One block per (kv head g, chunk c) over positions [lo, lo + n), n <= kAttnChunk, for all
// `group` query heads of g at once, so each key and value row is read from memory once.
// Scores: a row of the key cache is head_dim/8 lanes each loading 16 bytes, so one warp
// scores 256/head_dim positions per step. Output: the chunk's unnormalised weighted values
// and its (max, sum of exponentials) for the merge.
__global__ void attn_chunk_kernel(const AttnArgs a) {
  extern __shared__ __align__(16) float smem[];
  const int hd = a.head_dim, G = a.kv_heads, group = a.heads / G, width = G * hd;
  const int g = blockIdx.x, c = blockIdx.y, chunks = gridDim.y;
  const int pos = *a.pos;
  const int lo = c * kAttnChunk;
  if (lo > pos) return;  // whole block: no barrier is skipped by part of it
  const int n = min(pos + 1 - lo, kAttnChunk);
  float* qs = smem;                      // [group * hd]
  float* sc = smem + group * hd;         // [group * kAttnChunk]
  const float scale = 1.f / sqrtf(float(hd));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;

  for (int k = threadIdx.x; k < group * hd; k += blockDim.x) qs[k] = a.q[int64_t(g) * group * hd + k];
  __syncthreads();

  const int L = hd / 8, per_warp = 32 / L;  // lanes per row, rows per warp step
  const int sub = lane / L, part = lane % L;
  for (int base = warp * per_warp; base < n; base += warps * per_warp) {
    const int s = base + sub;
    const bool valid = s < n;
    float kf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    if (valid) {
      const uint4 v = __ldg(reinterpret_cast<const uint4*>(a.k_cache + int64_t(lo + s) * width +
                                                           int64_t(g) * hd + part * 8));
      cuda::unpack_bf16x8(v, kf);
    }
    for (int gq = 0; gq < group; ++gq) {
      const float* qv = qs + gq * hd + part * 8;
      float d = 0.f;
#pragma unroll
      for (int e = 0; e < 8; ++e) d = fmaf(kf[e], qv[e], d);
      for (int o = L / 2; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
      if (valid && part == 0) sc[gq * kAttnChunk + s] = d * scale;
    }
  }
  __syncthreads();

  for (int gq = warp; gq < group; gq += warps) {
    float* row = sc + gq * kAttnChunk;
    float m = -__int_as_float(0x7f800000);
    for (int s = lane; s < n; s += 32) m = fmaxf(m, row[s]);
    m = warp_max(m);
    float sum = 0.f;
    for (int s = lane; s < n; s += 32) {
      const float e = expf(row[s] - m);
      row[s] = e;
      sum += e;
    }
    sum = warp_sum(sum);
    if (lane == 0) {
      const int64_t hh = int64_t(g) * group + gq;
      a.part_ml[(hh * chunks + c) * 2] = m;
      a.part_ml[(hh * chunks + c) * 2 + 1] = sum;
    }
  }
  __syncthreads();

  // One thread per (query head, element): consecutive threads read consecutive values.
  for (int k = threadIdx.x; k < group * hd; k += blockDim.x) {
    const int gq = k / hd, i = k % hd;
    const float* p = sc + gq * kAttnChunk;
    const uint16_t* vcol = a.v_cache + int64_t(lo) * width + int64_t(g) * hd + i;
    float acc = 0.f;
    for (int s = 0; s < n; ++s) acc = fmaf(p[s], bf16(vcol, int64_t(s) * width), acc);
    const int64_t hh = int64_t(g) * group + gq;
    a.part_o[(hh * chunks + c) * hd + i] = acc;
  }
}

// One block per query head, one thread per element: merges the chunks [0, pos/chunk] with
// the usual rescaling by exp(m_c - max m) and normalises; the result is the o product's
// bf16 input.
__global__ void attn_merge_kernel(const AttnArgs a, int chunks) {
  const int hh = blockIdx.x, i = threadIdx.x, hd = a.head_dim;
  if (i >= hd) return;
  const int used = *a.pos / kAttnChunk + 1;
  const float* ml = a.part_ml + int64_t(hh) * chunks * 2;
  const float* o = a.part_o + int64_t(hh) * chunks * hd;
  float m = -__int_as_float(0x7f800000);
  for (int c = 0; c < used; ++c) m = fmaxf(m, ml[2 * c]);
  float sum = 0.f, acc = 0.f;
  for (int c = 0; c < used; ++c) {
    const float w = expf(ml[2 * c] - m);
    sum = fmaf(ml[2 * c + 1], w, sum);
    acc = fmaf(o[int64_t(c) * hd + i], w, acc);
  }
  a.out_bf16[int64_t(hh) * hd + i] = float_to_bf16_bits(acc / sum);
}

__global__ void silu_mul_bf16_kernel(const float* gate, const float* up, int F, uint16_t* out) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < F; i += gridDim.x * blockDim.x) {
    const float x = gate[i];
    out[i] = float_to_bf16_bits(x / (1.f + expf(-x)) * up[i]);
  }
}

__global__ void argmax_partial_kernel(const float* logits, int V, float* part_v, int32_t* part_i) {
  __shared__ float sv[32];
  __shared__ int si[32];
  float v = -__int_as_float(0x7f800000);
  int idx = 0x7fffffff;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < V; i += gridDim.x * blockDim.x)
    cuda::argmax_merge(v, idx, logits[i], i);
  block_argmax(v, idx, sv, si);
  if (threadIdx.x == 0) {
    part_v[blockIdx.x] = v;
    part_i[blockIdx.x] = idx;
  }
}

__global__ void argmax_final_kernel(const float* part_v, const int32_t* part_i, int parts, int V,
                                    int32_t* next) {
  __shared__ float sv[32];
  __shared__ int si[32];
  float v = -__int_as_float(0x7f800000);
  int idx = 0x7fffffff;
  for (int k = threadIdx.x; k < parts; k += blockDim.x) cuda::argmax_merge(v, idx, part_v[k], part_i[k]);
  block_argmax(v, idx, sv, si);
  if (threadIdx.x == 0) *next = idx >= 0 && idx < V ? idx : -1;
}

unsigned blocks_for(int64_t n, int threads, int cap) {
  const int64_t b = (n + threads - 1) / threads;
  return unsigned(b < 1 ? 1 : (b > cap ? cap : b));
}

int round_up_warp(int n) { return (n + 31) / 32 * 32; }

}  // namespace

cudaError_t launch_embed(const uint16_t* table, const int32_t* token, int V, int D, float* x, cudaStream_t s) {
  embed_kernel<<<blocks_for(D, 256, 64), 256, 0, s>>>(table, token, V, D, x);
  return cudaGetLastError();
}

cudaError_t launch_rmsnorm_bf16(const float* x, const uint16_t* g, int D, float eps, uint16_t* out,
                                cudaStream_t s) {
  rmsnorm_bf16_kernel<<<1, 1024, 0, s>>>(x, g, D, eps, out);
  return cudaGetLastError();
}

cudaError_t launch_qkv_rope(const QkvArgs& a, cudaStream_t s) {
  if (a.head_dim > kMaxHeadDim || a.head_dim % 2) return cudaErrorInvalidValue;
  qkv_rope_kernel<<<unsigned(a.heads + 2 * a.kv_heads), round_up_warp(a.head_dim), 0, s>>>(a);
  return cudaGetLastError();
}

size_t attention_smem_bytes(int heads, int kv_heads, int head_dim) {
  const int group = heads / kv_heads;
  return size_t(group) * (size_t(head_dim) + kAttnChunk) * sizeof(float);
}

cudaError_t attention_set_smem(size_t bytes) {
  return cudaFuncSetAttribute(attn_chunk_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes));
}

cudaError_t launch_attention(const AttnArgs& a, cudaStream_t s) {
  const int L = a.head_dim / 8;
  if (a.head_dim % 8 || L < 1 || L > 32 || 32 % L || a.head_dim > kMaxHeadDim) return cudaErrorInvalidValue;
  const int chunks = attn_chunks(a.context);
  attn_chunk_kernel<<<dim3(unsigned(a.kv_heads), unsigned(chunks)), 256,
                      attention_smem_bytes(a.heads, a.kv_heads, a.head_dim), s>>>(a);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  attn_merge_kernel<<<unsigned(a.heads), round_up_warp(a.head_dim), 0, s>>>(a, chunks);
  return cudaGetLastError();
}

cudaError_t launch_silu_mul_bf16(const float* gate, const float* up, int F, uint16_t* out, cudaStream_t s) {
  silu_mul_bf16_kernel<<<blocks_for(F, 256, 256), 256, 0, s>>>(gate, up, F, out);
  return cudaGetLastError();
}

cudaError_t launch_argmax(const float* logits, int V, float* part_v, int32_t* part_i, int32_t* next,
                          cudaStream_t s) {
  argmax_partial_kernel<<<kArgmaxBlocks, 256, 0, s>>>(logits, V, part_v, part_i);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  argmax_final_kernel<<<1, kArgmaxBlocks, 0, s>>>(part_v, part_i, kArgmaxBlocks, V, next);
  return cudaGetLastError();
}

}  // namespace tessera::ops

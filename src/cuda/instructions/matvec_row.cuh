// The inner loop every weight-streaming instruction shares: one warp computes the dot
// product of one weight row with the vector h held in shared memory. Each lane loads 16
// bytes (8 bf16, or 8 f32 as two float4) per step, consecutive lanes take consecutive
// 16-byte pieces so a warp reads 512 contiguous bytes of bf16 per load, and up to eight
// such loads (per matrix) are issued before any is used, to keep bytes in flight. Rows whose
// length is not a multiple of 8 (odd test shapes) take a scalar path: 16-byte alignment of
// every row needs K % 8 == 0.
#pragma once

#include "cuda/device/gather.cuh"
#include "cuda/instructions/common.cuh"

namespace tessera::cuda {

__device__ __forceinline__ float dot8(const float* w, const float* h) {
  const float4 h0 = reinterpret_cast<const float4*>(h)[0];
  const float4 h1 = reinterpret_cast<const float4*>(h)[1];
  float s = w[0] * h0.x;
  s = fmaf(w[1], h0.y, s); s = fmaf(w[2], h0.z, s); s = fmaf(w[3], h0.w, s);
  s = fmaf(w[4], h1.x, s); s = fmaf(w[5], h1.y, s); s = fmaf(w[6], h1.z, s);
  s = fmaf(w[7], h1.w, s);
  return s;
}

// U 16-byte pieces per lane of each of R rows (of w, and of w2 when TWO) starting at
// vector v, all loads issued before any is used: R * U * 512 bytes per matrix in flight
// per warp.
template <class W, bool TWO, int R, int U>
__device__ __forceinline__ void matvec_pieces(const void* w, const void* w2, const int64_t* base, int64_t v,
                                              const float* h, float* a1, float* a2) {
  typename W::Vec p[R][U], q[R][TWO ? U : 1];
#pragma unroll
  for (int i = 0; i < R; ++i)
#pragma unroll
    for (int u = 0; u < U; ++u) p[i][u] = W::load8(w, base[i] + (v + 32 * u) * 8);
  if constexpr (TWO) {
#pragma unroll
    for (int i = 0; i < R; ++i)
#pragma unroll
      for (int u = 0; u < U; ++u) q[i][u] = W::load8(w2, base[i] + (v + 32 * u) * 8);
  }
#pragma unroll
  for (int i = 0; i < R; ++i)
#pragma unroll
    for (int u = 0; u < U; ++u) {
      float f[8];
      W::unpack(p[i][u], f);
      a1[i] += dot8(f, h + (v + 32 * u) * 8);
      if constexpr (TWO) {
        W::unpack(q[i][u], f);
        a2[i] += dot8(f, h + (v + 32 * u) * 8);
      }
    }
}

// Dot products of row r (and r2 when R = 2) of w (and of w2 when TWO) with h[0, K); the warp's sums
// land in every lane. Eight pieces per lane per row and round (four for two gated rows, to
// bound registers), then fours and ones for the tail, so short rows (576, 896 wide) also
// keep loads in flight. R = 2 doubles the bytes a warp keeps in flight on rows that are
// one round long (2048 wide), where a single row leaves the warp idle between rows.
template <class W, bool TWO, int R = 1>
__device__ __forceinline__ void matvec_rows(const void* w, const void* w2, int64_t r, int64_t r2, int64_t K,
                                            const float* h, float* y1, float* y2) {
  const int lane = threadIdx.x & 31;
  int64_t base[R];
  float a1[R], a2[R];
#pragma unroll
  for (int i = 0; i < R; ++i) {
    base[i] = (i == 0 ? r : r2) * K;
    a1[i] = a2[i] = 0.f;
  }
  if (K % 8 == 0) {
    constexpr int U = TWO && R > 1 ? 4 : 8;
    const int64_t nvec = K / 8;
    int64_t v = lane;
    for (; v + 32 * (U - 1) < nvec; v += 32 * U) matvec_pieces<W, TWO, R, U>(w, w2, base, v, h, a1, a2);
    for (; v + 32 * 3 < nvec; v += 32 * 4) matvec_pieces<W, TWO, R, 4>(w, w2, base, v, h, a1, a2);
    for (; v < nvec; v += 32) matvec_pieces<W, TWO, R, 1>(w, w2, base, v, h, a1, a2);
  } else {
#pragma unroll
    for (int i = 0; i < R; ++i)
      for (int64_t k = lane; k < K; k += 32) {
        a1[i] = fmaf(W::load1(w, base[i] + k), h[k], a1[i]);
        if constexpr (TWO) a2[i] = fmaf(W::load1(w2, base[i] + k), h[k], a2[i]);
      }
  }
#pragma unroll
  for (int i = 0; i < R; ++i) {
    y1[i] = warp_sum(a1[i]);
    if constexpr (TWO) y2[i] = warp_sum(a2[i]);
  }
}

template <class W, bool TWO>
__device__ __forceinline__ void matvec_row(const void* w, const void* w2, int64_t r, int64_t K,
                                           const float* h, float& y1, float& y2) {
  matvec_rows<W, TWO, 1>(w, w2, r, r, K, h, &y1, &y2);
}

// The tile's n rows over the block's warps, rows_per_warp (1 or 2: KernelArgs) at a time;
// row_of(k) is the output row of the tile's k-th row (contiguous, or rotation pairs:
// plan/rope_pairs.h), so two rows a warp streams together need not be neighbours.
// fin(row, w·h, w2·h) by lane 0 of the warp that computed the row.
template <class W, bool TWO, class RowOf, class Fin>
__device__ inline void matvec_tile(const void* w, const void* w2, int64_t n, int64_t K, const float* h,
                                   int rows_per_warp, RowOf row_of, Fin& fin) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  if (rows_per_warp == 2) {
    for (int64_t k = 2 * warp; k < n; k += 2 * warps) {
      float y[2], y2[2] = {0.f, 0.f};
      const int64_t r = row_of(k);
      if (k + 1 < n) {
        const int64_t r2 = row_of(k + 1);
        matvec_rows<W, TWO, 2>(w, w2, r, r2, K, h, y, y2);
        if (lane == 0) { fin(r, y[0], y2[0]); fin(r2, y[1], y2[1]); }
      } else {
        matvec_rows<W, TWO, 1>(w, w2, r, r, K, h, y, y2);
        if (lane == 0) fin(r, y[0], y2[0]);
      }
    }
    return;
  }
  for (int64_t k = warp; k < n; k += warps) {
    float y, y2 = 0.f;
    const int64_t r = row_of(k);
    matvec_rows<W, TWO, 1>(w, w2, r, r, K, h, &y, &y2);
    if (lane == 0) fin(r, y, y2);
  }
}

// The input vector into h, normalised when a norm weight is given (h = norm * (x * r), the
// CPU reference's order; the norm weight goes to g as loaded, bf16 or f32: K floats
// reserved), and `extra` (a tile's residual rows) beside it: every load in one gather, one
// memory round trip (device/gather.cuh), then the norm. Ends with a barrier.
__device__ inline void load_normed_input(const Ctx& c, int32_t in_id, int32_t norm_id, float* h, float* g,
                                         const GatherSeg& extra = {}) {
  const DevBuffer& in = c.buf(in_id);
  const int64_t K = in.shape[0];
  GatherSeg norm;
  const bool g_bf16 = norm_id >= 0 && c.buf(norm_id).dtype == kBF16;
  if (norm_id >= 0) norm = GatherSeg{g, c.buf(norm_id).ptr, c.buf(norm_id).dtype, true, K};
  gather_to_shared(GatherSeg{h, in.ptr, kF32, false, K}, norm, extra);
  __syncthreads();
  if (norm_id >= 0) {
    float ss = 0.f;
    for (int64_t i = threadIdx.x; i < K; i += blockDim.x) ss += h[i] * h[i];
    ss = block_sum(ss, c.scratch);
    const float r = 1.f / sqrtf(ss / float(K) + c.t.eps);
    for (int64_t i = threadIdx.x; i < K; i += blockDim.x) h[i] = shared_elem(g, g_bf16, i) * (h[i] * r);
    __syncthreads();
  }
}

}  // namespace tessera::cuda

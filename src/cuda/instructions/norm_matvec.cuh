// norm_matvec: the fused matrix-vector instruction (docs/SCHEDULE_IR.md). Prologue: the
// whole input vector, RMS-normalised when `norm` is set, or for attn_matvec every head's
// attention (attn_fold.cuh), into shared memory (every tile
// recomputes the norm: D floats, negligible next to its weight rows). Body: rows split
// across warps, one or two rows per warp at a time (matvec_row.cuh). Epilogue in the order the
// spec lists: bias, silu(w·h) * (w2·h), per-head qk-norm, RoPE, residual, store (bf16
// rounding when the destination is a bf16 cache row).
//
// Rows that need per-head work (qk_norm, rope) are staged in shared memory after the input
// vector, because a head's norm and rotation need all of its rows; the others are finished
// by the thread that completes them, so a tile's size is not limited by shared memory.
// With the weight ring on, bf16 tiles whose rows are a multiple of 8 wide come through the
// weight stream (weight_stream.cuh); everything else through matvec_row's direct loads.
#pragma once

#include "cuda/device/rope_trig.cuh"
#include "cuda/instructions/attn_fold.cuh"
#include "cuda/instructions/matvec_row.cuh"
#include "cuda/instructions/weight_stream.cuh"
#include "plan/rope_pairs.h"

namespace tessera::cuda {

__device__ __forceinline__ float silu(float x) { return x / (1.f + expf(-x)); }

// res: the tile's residual rows, gathered with the input (load_normed_input).
__device__ __forceinline__ void store_row(const Ctx& c, const float* res, int64_t r, float y) {
  const DevTask& t = c.t;
  if (t.residual >= 0) y += res[r - t.row_begin];
  const DevBuffer& out = c.buf(t.out);
  if (t.out_at_pos) store_rw(out.ptr, out.dtype, c.a.pos * out.shape[1] + r, y);
  else static_cast<float*>(out.ptr)[r] = y;
}

template <class W>
__device__ inline void norm_matvec(const Ctx& c) {
  const DevTask& t = c.t;
  const DevBuffer& w = c.buf(t.w);
  const int64_t K = w.shape[1];
  const bool staged = t.qk_norm >= 0 || t.rope >= 0;
  // rope_pairs: the task's rows are its rotation pairs' first rows, then their partners
  // (plan/rope_pairs.h), staged in that order. The pairs' geometry, the working set's
  // layout, ys and res are recomputed from the task where needed rather than held: the
  // kernel sits at the register limit and values live across the matvec loop spill.
  // 32-bit: the validator bounds weight rows.
  auto pairs = [&] { return rope_pair_rows<int>(int(t.row_begin), int(t.row_end), t.head_dim); };
  auto task_rows = [&] { return t.rope_pairs ? int64_t(pairs().rows()) : t.row_end - t.row_begin; };
  auto layout = [&](bool with_staged) {
    return matvec_smem(c.buf(t.w).shape[1], task_rows(), with_staged, t.residual >= 0, t.norm >= 0);
  };
  const MatvecSmem m = layout(staged);
  float* h = c.work + m.h;
  auto staged_rows = [&] { return c.work + layout(true).ys; };  // only where staged
  auto residual_rows = [&] { return c.work + layout(staged).res; };
  GatherSeg extra;
  if (t.residual >= 0) extra = GatherSeg{c.work + m.res, static_cast<const float*>(c.buf(t.residual).ptr) + t.row_begin, kF32, false, t.row_end - t.row_begin};
  if (t.op == kAttnMatvec) attn_fold_input(c, h, extra);  // attention folded in: h = its output
  else load_normed_input(c, t.in, t.norm, h, c.work + m.g, extra);
  mark_phase(kTraceInput);  // both end with a barrier

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  const bool gated = t.w2 >= 0;
  const void* w2 = gated ? c.buf(t.w2).ptr : nullptr;
  // bias, gate, then the row is final unless a head's norm or rotation still needs it.
  auto finish_row = [&](int64_t r, float y, float y2) {
    if (t.bias >= 0) y += load_ro(c.buf(t.bias).ptr, c.buf(t.bias).dtype, r);
    if (gated) y = silu(y) * y2;
    if (staged) {
      staged_rows()[t.rope_pairs ? int64_t(pairs().index(int(r))) : r - t.row_begin] = y;
    } else {
      store_row(c, residual_rows(), r, y);
    }
  };
  const WarpStream s = weight_stream(c.a, t, c.smem);
  if (s.S > 0) {
    stream_rows(c.a, c.smem, s, h, finish_row);
  } else {
    auto row_of = [&](int64_t k) { return t.rope_pairs ? int64_t(pairs().row(int(k))) : t.row_begin + k; };
    if (gated) matvec_tile<W, true>(w.ptr, w2, task_rows(), K, h, c.a.rows_per_warp, row_of, finish_row);
    else matvec_tile<W, false>(w.ptr, nullptr, task_rows(), K, h, c.a.rows_per_warp, row_of, finish_row);
  }
  if (!staged) return;  // its body ends at the signal's barrier
  __syncthreads();
  mark_phase(kTraceBody);
  float* ys = staged_rows();

  const int64_t rows = task_rows(), P = t.rope_pairs ? rows / 2 : rows, half = t.head_dim / 2;
  const int64_t hd = t.head_dim, heads = rows / hd;
  if (t.qk_norm >= 0) {
    const DevBuffer& g = c.buf(t.qk_norm);
    for (int64_t hh = warp; hh < heads; hh += warps) {
      float* y = ys + hh * hd;
      float ss = 0.f;
      for (int64_t i = lane; i < hd; i += 32) ss += y[i] * y[i];
      ss = warp_sum(ss);
      const float r = 1.f / sqrtf(ss / float(hd) + t.eps);
      __syncwarp();
      for (int64_t i = lane; i < hd; i += 32) y[i] = load_ro(g.ptr, g.dtype, i) * (y[i] * r);
    }
    __syncthreads();
  }
  if (t.rope >= 0) {
    // angle = float(inv_freq[i] * float(pos)); cos/sin in double rounded to float, as
    // engine/rope.cpp does, so positions deep in the context agree with the reference.
    const float* inv = static_cast<const float*>(c.buf(t.rope).ptr);
    // Pair k: (ys[lo], ys[lo + gap]) at index i of its head; whole heads, or the task's P
    // pairs (plan/rope_pairs.h).
    const float p = float(c.a.pos);
    const int64_t n_pairs = t.rope_pairs ? P : heads * half;
    for (int64_t k = threadIdx.x; k < n_pairs; k += blockDim.x) {
      const int64_t i = t.rope_pairs ? int64_t(pairs().rot(int(k))) : k % half;
      const int64_t lo = t.rope_pairs ? k : (k / half) * hd + i, gap = t.rope_pairs ? P : half;
      const float angle = __ldg(inv + i) * p;
      float cs, sn;
      rope_cos_sin(angle, &cs, &sn);
      const float a = ys[lo], b = ys[lo + gap];
      ys[lo] = __fsub_rn(__fmul_rn(a, cs), __fmul_rn(b, sn));
      ys[lo + gap] = __fadd_rn(__fmul_rn(b, cs), __fmul_rn(a, sn));
    }
    __syncthreads();
  }
  for (int64_t k = threadIdx.x; k < rows; k += blockDim.x)
    store_row(c, residual_rows(), t.rope_pairs ? int64_t(pairs().row(int(k))) : t.row_begin + k, ys[k]);
}

__device__ inline void run_norm_matvec(const Ctx& c) {
  if (c.buf(c.t.w).dtype == kBF16) norm_matvec<Bf16>(c);
  else norm_matvec<F32>(c);
}

}  // namespace tessera::cuda

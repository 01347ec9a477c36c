// attn_matvec's prologue: attention of every query head over the cached positions [0, pos],
// computed into the matvec's input vector in shared memory (plan/attn_fold.h says why and
// where it applies). Its CPU twin is attn_matvec in emulate/instructions_cpu.cpp.
//  - one gather: q, K rows [0, pos], V rows [0, pos] and the tile's residual rows, all in
//    one memory round trip (device/gather.cuh); bf16 caches stay bf16 in shared memory;
//  - scores: one thread per (position, head), consecutive threads on consecutive heads,
//    each walking the head's elements four at a time from its own offset (head mod
//    hd/4), so the threads of a warp read different banks of q rather than one (heads
//    are hd floats apart: the same bank);
//  - softmax and weighted sum: a thread per (head, element), max-subtracted, over the
//    positions, into the vector that held q (every score is computed by then); normalised
//    after the sum rather than before (the CPU reference's order), a rounding difference.
// Three barriers and no global traffic after the gather. Measured on an H100 (docs/PERF.md,
// twelfth session): the folded o-proj task takes ~4.5 us more than the plain one at
// position 1, of which warming its instructions before the wait recovered under 1 us; the
// rest is the o weights streaming from memory inside the task, where the unfolded plan
// streams them (the L2 hint) while attention runs.
#pragma once

#include "cuda/device/gather.cuh"
#include "cuda/instructions/common.cuh"
#include "plan/attn_fold.h"

namespace tessera::cuda {

// h[Hq*hd] = attention output; res = the tile's residual rows (`residual`, gathered with it).
__device__ inline void attn_fold_input(const Ctx& c, float* h, const GatherSeg& residual) {
  const DevTask& t = c.t;
  const DevBuffer& qb = c.buf(t.in);
  const DevBuffer& kc = c.buf(t.in2);
  const DevBuffer& vc = c.buf(t.in3);
  // 32-bit index math: the validator bounds the context (kAttnFoldMaxContext) and widths.
  const int hd = t.head_dim, qd = int(qb.shape[0]), width = int(kc.shape[1]), ctx = int(kc.shape[0]);
  const int hq = qd / hd, group = hq / (width / hd), n = int(c.a.pos) + 1;
  const bool bf16 = kc.dtype == kBF16;
  const AttnFoldSmem m = attn_fold_smem(qd, hd, width, ctx, bf16, t.row_end - t.row_begin);
  float* ks = c.work + m.k;
  float* vs = c.work + m.v;
  float* sc = c.work + m.s;  // [head][n]
  gather_to_shared(GatherSeg{h, qb.ptr, kF32, false, qd}, GatherSeg{ks, kc.ptr, kc.dtype, false, int64_t(n) * width},
                   GatherSeg{vs, vc.ptr, vc.dtype, false, int64_t(n) * width}, residual);
  __syncthreads();
  const float scale = 1.f / sqrtf(float(hd));
  // Four elements a step where head_dim allows (q as float4, K as four bf16 or a float4:
  // every row starts 4-element aligned), the scalar walk otherwise (test shapes).
  const bool quads = hd % 4 == 0;
  for (int x = threadIdx.x; x < hq * n; x += blockDim.x) {
    const int p = x / hq, hh = x - p * hq;
    const float* qh = h + hh * hd;
    const int kb = p * width + (hh / group) * hd;
    float d0 = 0.f, d1 = 0.f;
    if (quads) {
      const int steps = hd / 4;
      int j = hh % steps;
      for (int k = 0; k < steps; ++k) {
        const float4 qv = *reinterpret_cast<const float4*>(qh + 4 * j);
        float4 kv;
        if (bf16) {
          const uint2 raw = *reinterpret_cast<const uint2*>(reinterpret_cast<const uint16_t*>(ks) + kb + 4 * j);
          kv = make_float4(__uint_as_float(raw.x << 16), __uint_as_float(raw.x & 0xffff0000u),
                           __uint_as_float(raw.y << 16), __uint_as_float(raw.y & 0xffff0000u));
        } else {
          kv = *reinterpret_cast<const float4*>(ks + kb + 4 * j);
        }
        d0 = fmaf(qv.x, kv.x, d0);
        d1 = fmaf(qv.y, kv.y, d1);
        d0 = fmaf(qv.z, kv.z, d0);
        d1 = fmaf(qv.w, kv.w, d1);
        if (++j == steps) j = 0;
      }
    } else {
      int i = hh % hd;
      for (int k = 0; k < hd; ++k) {
        d0 = fmaf(qh[i], shared_elem(ks, bf16, kb + i), d0);
        if (++i == hd) i = 0;
      }
    }
    sc[hh * n + p] = (d0 + d1) * scale;
  }
  __syncthreads();
  // Softmax and weighted sum in one pass per (head, element): every thread of a head takes
  // the max and the sum of exponentials over the head's n scores itself. That repeats a
  // few exponentials per thread (n <= 32) but needs no warp reductions and no barrier.
  for (int x = threadIdx.x; x < qd; x += blockDim.x) {
    const int hh = x / hd, i = x - hh * hd;
    const float* s = sc + hh * n;
    const int vb = (hh / group) * hd + i;
    float mx = s[0];
    for (int p = 1; p < n; ++p) mx = fmaxf(mx, s[p]);
    float sum = 0.f, acc = 0.f;
    for (int p = 0; p < n; ++p) {
      const float e = expf(s[p] - mx);
      sum += e;
      acc = fmaf(e, shared_elem(vs, bf16, p * width + vb), acc);
    }
    h[x] = acc / sum;
  }
  __syncthreads();
}

}  // namespace tessera::cuda

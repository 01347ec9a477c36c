// lm_head_argmax: the final norm as a prologue, logits for the task's vocabulary rows, and
// the tile's (max, argmax) partial so the next token needs no pass over the logits. The
// thread that finishes a row keeps its best row; a block argmax merges them (larger value,
// then lower index: the tie rule of docs/SCHEDULE_IR.md, so the merge order is irrelevant).
#pragma once

#include "cuda/instructions/matvec_row.cuh"
#include "cuda/instructions/weight_stream.cuh"

namespace tessera::cuda {

template <class W>
__device__ inline void lm_head_argmax(const Ctx& c) {
  const DevTask& t = c.t;
  const DevBuffer& w = c.buf(t.w);
  const int64_t K = w.shape[1];
  const MatvecSmem m = matvec_smem(K, 0, false, false, t.norm >= 0);
  float* h = c.work + m.h;
  load_normed_input(c, t.in, t.norm, h, c.work + m.g);
  mark_phase(kTraceInput);
  float* logits = static_cast<float*>(c.buf(t.out).ptr);
  float best = -__int_as_float(0x7f800000);
  int best_i = 0x7fffffff;
  auto finish_row = [&](int64_t r, float y, float) {
    logits[r] = y;
    argmax_merge(best, best_i, y, int(r));
  };
  const WarpStream s = weight_stream(c.a, t, c.smem);
  if (s.S > 0) {
    stream_rows(c.a, c.smem, s, h, finish_row);
  } else {
    matvec_tile<W, false>(w.ptr, nullptr, t.row_end - t.row_begin, K, h, c.a.rows_per_warp,
                          [&](int64_t k) { return t.row_begin + k; }, finish_row);
  }
  block_argmax(best, best_i, c.scratch, c.scratch_i);
  if (threadIdx.x == 0) {
    if (best_i == 0x7fffffff) best_i = int(t.row_begin);  // every logit NaN
    float* part = static_cast<float*>(c.buf(t.out2).ptr) + int64_t(t.index) * 2;
    part[0] = best;
    part[1] = float(best_i);
  }
}

__device__ inline void run_lm_head_argmax(const Ctx& c) {
  if (c.buf(c.t.w).dtype == kBF16) lm_head_argmax<Bf16>(c);
  else lm_head_argmax<F32>(c);
}

}  // namespace tessera::cuda

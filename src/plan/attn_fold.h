// Attention folded into the o projection (Op::AttnMatvec): where the lowering may fold, and
// the shared-memory layout the GPU instruction uses, shared by the lowering (which folds
// only where the layout fits every target), the CUDA runtime (which sizes shared memory
// with it) and the device code (which places its arrays with it). constexpr and free of
// std:: types so nvcc compiles it into device code, like rope_pairs.h.
//
// Why fold: at short contexts decode attention is a few kilobytes of q, K and V and a
// chain of dependent steps, run by a handful of SMs while every other SM waits; the o
// projection then waits on it through a counter and gathers its output again. Each o-proj
// tile computing attention for every head itself, from one gather of q and the cached
// rows, removes that stage, its counter round trip and the second gather: one dependent
// stage fewer per layer. The price is the same attention computed on every o-proj block
// (at position 15 of a 1B: 40 KB of L2 reads and ~70k multiply-adds per block), which is
// why it stops at kAttnFoldMaxContext.
#pragma once

#include <cstdint>

namespace tessera {

// The largest plan context whose attention may be folded: the instruction holds every
// cached row in shared memory.
inline constexpr int64_t kAttnFoldMaxContext = 32;
// fold_attention "auto" folds only where one layer's o-proj weights are at most this many
// bytes: larger ones stream faster into L2 during an attention stage than inside the
// folded tiles (LowerConfig::fold_attention has the measurements).
inline constexpr int64_t kAttnFoldAutoMaxOBytes = int64_t(4) << 20;
// The most shared memory the fold's working set may take, in floats: 96 KiB, under the
// opt-in limit of every target (sm_86, sm_89 and sm_120 allow 99 KiB per block).
inline constexpr int64_t kAttnFoldMaxFloats = 96 * 1024 / 4;

// Floats from the instruction's work area: the attention output (the matvec's input
// vector; q before it), the tile's residual rows, K and V rows [0, context) (bf16 caches
// kept as bf16, two to a float), then the scores [heads][context]. Every part starts
// 16-byte aligned.
struct AttnFoldSmem {
  int64_t h, res, k, v, s, total;
};
constexpr int64_t attn_fold_pad4(int64_t n) { return (n + 3) / 4 * 4; }
constexpr AttnFoldSmem attn_fold_smem(int64_t q_len, int64_t head_dim, int64_t kv_width, int64_t context,
                                      bool kv_bf16, int64_t residual_rows) {
  const int64_t kv = kv_bf16 ? (context * kv_width + 1) / 2 : context * kv_width;
  AttnFoldSmem m{};
  m.h = 0;
  m.res = attn_fold_pad4(q_len);
  m.k = m.res + attn_fold_pad4(residual_rows);
  m.v = m.k + attn_fold_pad4(kv);
  m.s = m.v + attn_fold_pad4(kv);
  m.total = m.s + attn_fold_pad4((head_dim > 0 ? q_len / head_dim : 0) * context);
  return m;
}

}  // namespace tessera

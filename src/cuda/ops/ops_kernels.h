// Host launchers of the ops baseline's kernels (ops_kernels.cu): one small kernel per
// operation of a decode step that is not a matrix product (those go to cuBLAS, see
// ops_engine.cpp). Each launcher enqueues one kernel on `stream` and returns the launch's
// cudaError_t, which the engine checks and names.
//
// Layout conventions (all row-major, all device pointers):
//   activations fp32 unless named *_bf16 (a bf16 copy is what a bf16 GEMM reads);
//   weights bf16; KV caches bf16 [context, kv_heads*head_dim];
//   `pos` and `token` are device int32 scalars: the kernels read them, so a captured CUDA
//   graph serves every position and no grid size depends on pos.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace tessera::ops {

// Attention is split over chunks of kAttnChunk cached positions (flash-decoding): one
// block per (kv head, chunk) computes the chunk's unnormalised softmax and weighted values,
// a second kernel merges the chunks of each head. The grid covers the whole context so it
// does not depend on pos; blocks whose chunk starts beyond pos return at once.
inline constexpr int kAttnChunk = 128;
inline int attn_chunks(int context) { return (context + kAttnChunk - 1) / kAttnChunk; }

// Blocks of the first argmax stage (grid-stride over the vocabulary).
inline constexpr int kArgmaxBlocks = 128;

// x[D] = table[token] (bf16 table [V, D]); a token outside [0, V) writes NaN rather than
// reading outside the table.
cudaError_t launch_embed(const uint16_t* table, const int32_t* token, int V, int D, float* x,
                         cudaStream_t s);

// out_bf16[D] = bf16(g[i] * (x[i] * rsqrt(mean(x^2) + eps))): the norm fused with the
// conversion its consumer (a bf16 GEMM) needs.
cudaError_t launch_rmsnorm_bf16(const float* x, const uint16_t* g, int D, float eps,
                                uint16_t* out_bf16, cudaStream_t s);

// After the q, k, v products: per head, bias (when given), per-head RMSNorm of q and k
// (when q_norm/k_norm are given), RoPE of q and k at pos; q stays fp32 in place, k and v
// rows go to the bf16 caches at row pos. inv_freq [head_dim/2].
struct QkvArgs {
  float* q;                // [H*hd], in place
  const float* k;          // [G*hd]
  const float* v;          // [G*hd]
  const uint16_t *bq, *bk, *bv;          // bf16 biases or null
  const uint16_t *q_norm, *k_norm;       // bf16 [hd] or null
  const float* inv_freq;   // [hd/2]
  uint16_t* k_cache;       // [context, G*hd]
  uint16_t* v_cache;
  const int32_t* pos;
  int heads, kv_heads, head_dim;
  float eps;
};
cudaError_t launch_qkv_rope(const QkvArgs& a, cudaStream_t s);

// out_bf16[H*hd] = attention of each query head over cached positions [0, pos] of its kv
// head (GQA), softmax in fp32. part_o [H, chunks, hd] and part_ml [H, chunks, 2] are
// scratch for the per-chunk partials.
struct AttnArgs {
  const float* q;          // [H*hd]
  const uint16_t* k_cache; // [context, G*hd]
  const uint16_t* v_cache;
  const int32_t* pos;
  float* part_o;
  float* part_ml;
  uint16_t* out_bf16;      // [H*hd]
  int heads, kv_heads, head_dim, context;
};
cudaError_t launch_attention(const AttnArgs& a, cudaStream_t s);
// Dynamic shared memory the chunk kernel needs; the engine checks it fits the device.
size_t attention_smem_bytes(int heads, int kv_heads, int head_dim);
cudaError_t attention_set_smem(size_t bytes);

// out_bf16[F] = bf16(silu(gate[i]) * up[i]).
cudaError_t launch_silu_mul_bf16(const float* gate, const float* up, int F, uint16_t* out_bf16,
                                 cudaStream_t s);

// next[0] = argmax of logits[V] (larger value wins, the lower index on ties, NaN never
// wins; -1 when no logit is a number). part_v/part_i [kArgmaxBlocks] scratch.
cudaError_t launch_argmax(const float* logits, int V, float* part_v, int32_t* part_i,
                          int32_t* next, cudaStream_t s);

}  // namespace tessera::ops

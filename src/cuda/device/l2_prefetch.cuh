// L2 prefetch of what a task will read, issued before its waits are met. A block spends
// microseconds waiting for the previous stage's counter and then pulls its weight tile
// through a chain of dependent round trips to HBM; asking the memory system for the tile
// while the block still waits lets those bytes arrive during time that is otherwise idle,
// and the later loads hit L2 (shorter latency, so more bytes per SM per microsecond).
//
// Prefetching into L2 is safe for any address, not just read-only weights: L2 is the
// GPU's point of coherence, a prefetch fills no L1 line, so a later acquire load still sees
// another block's store. That is why the KV rows a split will read are prefetched as well,
// though the current position's row is written during this launch.
//
// Hopper and later: cp.async.bulk.prefetch.L2, one instruction per chunk of a contiguous
// range (a weight tile is rows [row_begin, row_end) of a row-major matrix: one range).
// Earlier targets: prefetch.global.L2 per 128-byte line. The bytes a task prefetches are
// capped (KernelArgs::l2_prefetch_bytes) so a whole stage's prefetches cannot evict each
// other in L2.
#pragma once

#include "cuda/device_plan.h"

namespace tessera::cuda {

// Prefetches [p, p + bytes) into L2, the block's threads sharing the work.
__device__ inline void prefetch_l2(const void* p, int64_t bytes) {
  if (bytes <= 0) return;
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if (a % 16 == 0) {
    constexpr int64_t kChunk = 16 * 1024;
    const int64_t n = bytes & ~int64_t(15);  // bulk sizes are multiples of 16
    for (int64_t off = int64_t(threadIdx.x) * kChunk; off < n; off += int64_t(blockDim.x) * kChunk) {
      const uint32_t len = uint32_t(n - off < kChunk ? n - off : kChunk);
      asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(a + off), "r"(len) : "memory");
    }
    return;
  }
#endif
  const uintptr_t first = a & ~uintptr_t(127), end = a + uintptr_t(bytes);
  for (uintptr_t line = first + uintptr_t(threadIdx.x) * 128; line < end; line += uintptr_t(blockDim.x) * 128)
    asm volatile("prefetch.global.L2 [%0];" ::"l"(line) : "memory");
}

__device__ inline int64_t elem_bytes(int32_t dtype) { return dtype == kBF16 ? 2 : 4; }

// Prefetches what task t will read from far away: up to `weight_cap` bytes of its weight
// rows (matvec tiles, the LM head), up to `kv_cap` bytes of its split's KV rows
// (attention). Other opcodes read little and are skipped.
__device__ inline void prefetch_task(const KernelArgs& a, const DevBuffer* bufs, const DevTask& t,
                                     int64_t weight_cap, int64_t kv_cap) {
  if ((t.op == kNormMatvec || t.op == kLmHeadArgmax || t.op == kAttnMatvec) && weight_cap > 0) {
    const int64_t cap = weight_cap;
    const int32_t ws[2] = {t.w, t.op == kNormMatvec ? t.w2 : -1};
    const int64_t each = ws[1] >= 0 ? cap / 2 : cap;
    for (int32_t id : ws) {
      if (id < 0) continue;
      const DevBuffer& w = bufs[id];
      const int64_t row = w.shape[1] * elem_bytes(w.dtype);
      // rope_pairs: the pairs' rows and their partners all lie in [row_begin, row_end + hd/2).
      const int64_t bytes = (t.row_end - t.row_begin + (t.rope_pairs ? t.head_dim / 2 : 0)) * row;
      prefetch_l2(static_cast<const char*>(w.ptr) + t.row_begin * row, bytes < each ? bytes : each);
    }
  } else if (t.op == kAttnPartial && kv_cap > 0) {
    const int64_t cap = kv_cap;
    // attn_split (plan.h), as run_attn_partial computes it; one head row per position.
    const int64_t lo = (a.pos + 1) * t.split / t.splits, hi = (a.pos + 1) * (t.split + 1) / t.splits;
    const DevBuffer& kc = bufs[t.in2];
    const DevBuffer& vc = bufs[t.in3];
    const int64_t width = kc.shape[1];
    const int64_t kb = elem_bytes(kc.dtype), vb = elem_bytes(vc.dtype);
    const int64_t per_row = (t.row_end - t.row_begin) * t.head_dim * (kb + vb);
    int64_t rows = hi - lo;
    if (per_row > 0 && rows * per_row > cap) rows = cap / per_row;
    // One line (or two) per row and matrix: lines, not bulk ranges, since rows are strided.
    const int64_t seg = (t.row_end - t.row_begin) * t.head_dim;
    for (int64_t k = threadIdx.x; k < 2 * rows; k += blockDim.x) {
      const int64_t r = lo + k / 2;
      const DevBuffer& m = (k & 1) ? vc : kc;
      const int64_t eb = (k & 1) ? vb : kb;
      const char* base = static_cast<const char*>(m.ptr) + (r * width + t.row_begin * t.head_dim) * eb;
      for (int64_t off = 0; off < seg * eb; off += 128) asm volatile("prefetch.global.L2 [%0];" ::"l"(base + off) : "memory");
    }
  }
}

}  // namespace tessera::cuda

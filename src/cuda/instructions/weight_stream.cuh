// The weight stream: how norm_matvec and lm_head_argmax read a bf16 weight tile on sm_90
// and later. Each warp owns a contiguous share of the tile's rows and its own ring of
// shared-memory slots; its lane 0 fills the slots with Hopper bulk copies
// (device/bulk_copy.cuh), each slot with its own transaction-counting barrier, and the warp
// computes slot after slot, refilling each as soon as it has read it. Why per warp: a
// block-wide ring needs a block barrier per chunk, and that barrier on the critical path of
// every 16 KB made the previous design (cp.async, one ring per block) 2x slower than plain
// loads (docs/PERF.md). Here no step but the copy's arrival is shared between warps, and
// bytes in flight are bounded by shared memory (~180 KB per SM), not by registers (~64 KB
// with plain loads, which is what limited per-SM bandwidth: docs/PERF.md, third session).
//
// The stream does not stop at task boundaries: each warp's lane 0 walks the block's queue
// ahead of the computation (a cursor in the ring's header) and refills a slot as soon as it
// is read with the next piece of whichever task comes next, so while the block waits on a
// task's counters, loads its input or signals, the next tasks' weights are already in
// flight. Weights are read-only for the launch, so fetching them early can never read a
// stale value; only activations need the waits.
//
// Pieces: a slot holds whole rows when a row fits (rows of w, then the same rows of w2 for
// a gated product), else one part of a row, parts being a multiple of 32 16-byte vectors
// wide. Rows are the task's rows in its own order: contiguous, or a rope_pairs task's pair
// rows then partners (plan/rope_pairs.h), where one slot's rows may come from two or more
// runs of the matrix: a bulk copy per run, all counted on the slot's one barrier. Each lane then takes the vectors v = lane, lane + 32, ... of its rows in increasing
// order and the warp reduces with warp_sum, exactly matvec_row's order, so the stream gives
// the same bits as plain loads (tests/cuda compare them).
//
// Piece j of a warp's launch-long stream uses slot j % S and its consumer waits for parity
// (j / S) & 1 of that slot's barrier; pieces are issued and consumed in the same order, and
// never more than S ahead.
#pragma once

#include "cuda/device/bulk_copy.cuh"
#include "cuda/instructions/matvec_row.cuh"
#include "plan/rope_pairs.h"

namespace tessera::cuda {

inline constexpr int kStreamWarps = kMaxThreads / 32;
inline constexpr int kStreamMaxSlots = 16;  // per warp

struct StreamCursor;

// The ring starts with the barriers ([warp][slot]) and the cursors ([warp]); slots start
// 128-byte aligned after them.
inline constexpr int64_t kStreamHeaderBytes = 3072;

struct StreamRing {
  uint64_t* bars = nullptr;
  StreamCursor* cursors = nullptr;
  char* slots = nullptr;
  int per_warp = 0;  // slots per warp; 0: the ring is off
  int64_t slot_bytes = 0;
};

__device__ inline StreamRing stream_ring(const KernelArgs& a, float* smem) {
  StreamRing r;
  if (a.ring_bytes <= kStreamHeaderBytes || a.ring_slot_bytes <= 0) return r;
  char* base = reinterpret_cast<char*>(smem) + a.ring_offset;
  const int64_t warps = blockDim.x >> 5;
  const int64_t per_warp = (a.ring_bytes - kStreamHeaderBytes) / (warps * a.ring_slot_bytes);
  if (per_warp < 1) return r;
  r.bars = reinterpret_cast<uint64_t*>(base);
  r.cursors = reinterpret_cast<StreamCursor*>(base + kStreamWarps * kStreamMaxSlots * 8);
  r.slots = base + kStreamHeaderBytes;
  r.per_warp = int(per_warp < kStreamMaxSlots ? per_warp : kStreamMaxSlots);
  r.slot_bytes = a.ring_slot_bytes;
  return r;
}

// One warp's stream of one task.
struct WarpStream {
  const uint16_t* w = nullptr;
  const uint16_t* w2 = nullptr;  // gated products only
  int64_t K = 0, nvec = 0;
  int64_t row_begin = 0, row_end = 0;  // this warp's rows: indices into the task's rows
  int32_t pair_hd = 0, pair_p0 = 0, pair_count = 0;  // rope_pairs tasks (pair_hd > 0)
  int64_t rows_per_piece = 0;          // > 0: pieces of whole rows
  int64_t part_vecs = 0, parts = 1;    // else: each row in `parts` pieces of part_vecs vectors
  int64_t pieces = 0;
  int64_t half = 0;                    // bf16 elements from a slot's w to its w2
  int S = 0;                           // slots; 0: this task is not streamed
  uint64_t* bars = nullptr;            // this warp's
  char* slots = nullptr;
  int64_t slot_bytes = 0;
  StreamCursor* cursor = nullptr;
  uint32_t seq = 0;                    // pieces this warp consumed earlier in the launch
  uint64_t policy = 0;
};

// Per warp, in the ring's header: pieces consumed and issued since the launch began, the
// producer's cursor (queue position k of [k, k_end), piece i of that task), and the stream
// of the task at the cursor. Cached because computing it reads the task and its buffers
// from global memory, a chain of dependent round trips that would otherwise sit between
// every slot's consumption and its refill.
struct StreamCursor {
  uint32_t consumed, issued;
  int32_t k, k_end;
  int64_t i;
  int32_t cached_k;  // -1: none
  WarpStream cached;
};
static_assert(kStreamWarps * kStreamMaxSlots * 8 + kStreamWarps * sizeof(StreamCursor) <= kStreamHeaderBytes);

// Once per launch, by the whole block: every barrier armed for one arrival, every cursor at
// the start of the block's queue [k, k_end). Ends with a block barrier; then each warp
// primes its stream (stream_fill).
__device__ inline void stream_ring_init(const StreamRing& r, int32_t k, int32_t k_end) {
  if (r.per_warp == 0) return;
  for (int i = threadIdx.x; i < kStreamWarps * kStreamMaxSlots; i += blockDim.x) mbarrier_init(r.bars + i, 1);
  if (threadIdx.x < kStreamWarps) {
    StreamCursor& c = r.cursors[threadIdx.x];
    c.consumed = c.issued = 0;
    c.k = k;
    c.k_end = k_end;
    c.i = 0;
    c.cached_k = -1;
  }
  mbarrier_init_fence();
  __syncthreads();
}

// Weight row of the task's index-th row: the index itself for contiguous tiles (indices are
// rows there), the pair arithmetic for rope_pairs tasks.
__device__ __forceinline__ int64_t stream_row(const WarpStream& s, int64_t index) {
  if (s.pair_hd == 0) return index;
  return RopePairRows<int>{s.pair_hd, s.pair_hd / 2, s.pair_p0, s.pair_count}.row(int(index));
}

// The stream task t would use for this warp (S == 0 when the task has no bf16 weight tile
// with rows a multiple of 8 wide, or the ring is off). The megakernel and the instruction
// call this with the same arguments and get the same stream; whether a task streams does
// not depend on the warp.
__device__ inline WarpStream weight_stream(const KernelArgs& a, const DevTask& t, float* smem) {
  WarpStream s;
  if (t.op != kNormMatvec && t.op != kLmHeadArgmax && t.op != kAttnMatvec) return s;
  const StreamRing r = stream_ring(a, smem);
  if (r.per_warp == 0) return s;
  const DevBuffer* bufs = block_buffers(a, smem);
  const DevBuffer& w = bufs[t.w];
  const bool gated = t.op == kNormMatvec && t.w2 >= 0;
  const int64_t K = w.shape[1];
  if (w.dtype != kBF16 || K % 8 != 0 || (reinterpret_cast<uintptr_t>(w.ptr) & 15) != 0) return s;
  if (gated && (bufs[t.w2].dtype != kBF16 || (reinterpret_cast<uintptr_t>(bufs[t.w2].ptr) & 15) != 0))
    return s;
  const int64_t cap = r.slot_bytes / (gated ? 2 : 1);  // bytes of one matrix per slot
  s.K = K;
  s.nvec = K / 8;
  if (K * 2 <= cap) {
    s.rows_per_piece = cap / (K * 2);
  } else {
    s.part_vecs = cap / 16 / 32 * 32;
    if (s.part_vecs == 0) return s;
    s.parts = (s.nvec + s.part_vecs - 1) / s.part_vecs;
  }
  int64_t first = t.row_begin, n = t.row_end - t.row_begin;
  if (t.rope_pairs) {
    // 32-bit: the validator bounds weight rows.
    const RopePairRows<int> pr = rope_pair_rows<int>(int(t.row_begin), int(t.row_end), t.head_dim);
    s.pair_hd = pr.hd;
    s.pair_p0 = pr.p0;
    s.pair_count = pr.count;
    first = 0;
    n = pr.rows();
  }
  const int64_t warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  s.row_begin = first + n * warp / warps;
  s.row_end = first + n * (warp + 1) / warps;
  const int64_t rows = s.row_end - s.row_begin;
  s.pieces = s.rows_per_piece > 0 ? (rows + s.rows_per_piece - 1) / s.rows_per_piece : rows * s.parts;
  s.w = static_cast<const uint16_t*>(w.ptr);
  s.w2 = gated ? static_cast<const uint16_t*>(bufs[t.w2].ptr) : nullptr;
  s.half = cap / 2;
  s.S = r.per_warp;
  s.bars = r.bars + warp * kStreamMaxSlots;
  s.slots = r.slots + warp * r.per_warp * r.slot_bytes;
  s.slot_bytes = r.slot_bytes;
  s.cursor = r.cursors + warp;
  s.seq = s.cursor->consumed;
  s.policy = l2_evict_first_policy();
  return s;
}

__device__ inline uint16_t* stream_slot(const WarpStream& s, uint32_t j) {
  return reinterpret_cast<uint16_t*>(s.slots + int64_t(j % uint32_t(s.S)) * s.slot_bytes);
}

// Lane 0 only: piece i of this task as piece j of the warp's stream. Whole rows: one bulk
// copy per run of rows contiguous in the matrix (one run unless the task is rope_pairs);
// else one part of a row.
__device__ inline void stream_issue(const WarpStream& s, int64_t i, uint32_t j) {
  uint64_t* bar = s.bars + j % uint32_t(s.S);
  uint16_t* dst = stream_slot(s, j);
  const int m = s.w2 ? 2 : 1;
  if (s.rows_per_piece > 0) {
    const int64_t k0 = s.row_begin + i * s.rows_per_piece;
    const int64_t nr = min(s.rows_per_piece, s.row_end - k0);
    mbarrier_arrive_expect_tx(bar, uint32_t(m * nr * s.K * 2));
    for (int64_t q = 0; q < nr;) {
      const int64_t r = stream_row(s, k0 + q);
      int64_t run = 1;
      while (q + run < nr && stream_row(s, k0 + q + run) == r + run) ++run;
      const uint32_t bytes = uint32_t(run * s.K * 2);
      bulk_copy_g2s(dst + q * s.K, s.w + r * s.K, bytes, bar, s.policy);
      if (s.w2) bulk_copy_g2s(dst + s.half + q * s.K, s.w2 + r * s.K, bytes, bar, s.policy);
      q += run;
    }
  } else {
    const int64_t r = stream_row(s, s.row_begin + i / s.parts), v0 = (i % s.parts) * s.part_vecs;
    const int64_t off = r * s.K + v0 * 8;
    const uint32_t bytes = uint32_t((min(s.nvec, v0 + s.part_vecs) - v0) * 16);
    mbarrier_arrive_expect_tx(bar, m * bytes);
    bulk_copy_g2s(dst, s.w + off, bytes, bar, s.policy);
    if (s.w2) bulk_copy_g2s(dst + s.half, s.w2 + off, bytes, bar, s.policy);
  }
}

// Lane 0 only: issues the queue's next pieces until S are in flight or the queue has no
// more, moving the cursor past tasks that do not stream.
__device__ inline void stream_fill(const KernelArgs& a, float* smem) {
  const StreamRing r = stream_ring(a, smem);
  if (r.per_warp == 0) return;
  StreamCursor* c = r.cursors + (threadIdx.x >> 5);
  uint32_t issued = c->issued;
  const uint32_t limit = c->consumed + uint32_t(r.per_warp);
  int32_t k = c->k;
  int64_t i = c->i;
  while (issued != limit && k < c->k_end) {
    if (c->cached_k != k) {
      c->cached = weight_stream(a, block_task(a, smem, k), smem);
      c->cached_k = k;
    }
    if (c->cached.S > 0 && i < c->cached.pieces) {
      stream_issue(c->cached, i, issued);
      ++i;
      ++issued;
    } else {
      ++k;
      i = 0;
    }
  }
  c->issued = issued;
  c->k = k;
  c->i = i;
}

__device__ inline void stream_wait(const WarpStream& s, uint32_t j) {
  mbarrier_wait(s.bars + j % uint32_t(s.S), (j / uint32_t(s.S)) & 1u);
}

// Every lane: a block leaving early (watchdog abort) waits for the copies its warp has in
// flight: none may still target shared memory when the block exits.
__device__ inline void stream_drain(const KernelArgs& a, float* smem) {
  const StreamRing r = stream_ring(a, smem);
  if (r.per_warp == 0) return;
  const int warp = threadIdx.x >> 5;
  const StreamCursor c = r.cursors[warp];
  for (uint32_t j = c.consumed; j != c.issued; ++j)
    mbarrier_wait(r.bars + warp * kStreamMaxSlots + j % uint32_t(r.per_warp), (j / uint32_t(r.per_warp)) & 1u);
}

// Lane sums of vectors [v0, v1) of one slot row (and its w2 row) with h.
__device__ __forceinline__ void stream_dot(const WarpStream& s, const uint16_t* row, int64_t v0, int64_t v1,
                                           const float* h, float& a1, float& a2) {
  const int lane = threadIdx.x & 31;
  for (int64_t v = v0 + lane; v < v1; v += 32) {
    float f[8];
    unpack_bf16x8(*reinterpret_cast<const uint4*>(row + (v - v0) * 8), f);
    a1 += dot8(f, h + v * 8);
    if (s.w2) {
      unpack_bf16x8(*reinterpret_cast<const uint4*>(row + s.half + (v - v0) * 8), f);
      a2 += dot8(f, h + v * 8);
    }
  }
}

// Runs this warp's share of the task: fin(row, w·h, w2·h) once per row (its weight row), by lane 0. h (the
// input vector in shared memory) must be complete before the call. The pieces were issued
// by stream_fill; each slot, once read, is refilled at once with the stream's next piece.
template <class Fin>
__device__ inline void stream_rows(const KernelArgs& a, float* smem, const WarpStream& s, const float* h, Fin& fin) {
  const int lane = threadIdx.x & 31;
  float a1 = 0.f, a2 = 0.f;
  for (int64_t i = 0; i < s.pieces; ++i) {
    const uint32_t j = s.seq + uint32_t(i);
    stream_wait(s, j);
    const uint16_t* slot = stream_slot(s, j);
    if (s.rows_per_piece > 0) {
      const int64_t r0 = s.row_begin + i * s.rows_per_piece;
      const int64_t nr = min(s.rows_per_piece, s.row_end - r0);
      for (int64_t q = 0; q < nr; ++q) {
        float b1 = 0.f, b2 = 0.f;
        stream_dot(s, slot + q * s.K, 0, s.nvec, h, b1, b2);
        b1 = warp_sum(b1);
        if (s.w2) b2 = warp_sum(b2);
        if (lane == 0) fin(stream_row(s, r0 + q), b1, b2);
      }
    } else {
      const int64_t p = i % s.parts, v0 = p * s.part_vecs;
      stream_dot(s, slot, v0, min(s.nvec, v0 + s.part_vecs), h, a1, a2);
      if (p == s.parts - 1) {
        a1 = warp_sum(a1);
        if (s.w2) a2 = warp_sum(a2);
        if (lane == 0) fin(stream_row(s, s.row_begin + i / s.parts), a1, a2);
        a1 = a2 = 0.f;
      }
    }
    __syncwarp();  // every lane has read the slot before it is refilled
    if (lane == 0) {
      s.cursor->consumed = j + 1;
      stream_fill(a, smem);
    }
  }
  __syncwarp();
}

}  // namespace tessera::cuda

// The weight stream: how norm_matvec and lm_head_argmax read a bf16 weight tile. The
// tile's rows (and the same rows of w2 for a gated product) are contiguous in memory, so
// the block copies them chunk by chunk (a few rows, ~16 KB) into a ring of shared-memory
// slots with cp.async, keeping `stages - 1` chunks in flight. Nothing holds registers
// while in flight, so one block keeps ~100 KB moving: enough for a few blocks to saturate
// HBM when a stage has fewer tiles than SMs (a layer's q/k/v heads), and the copies of a
// task's first chunks are issued BEFORE the block waits on the task's counters
// (megakernel.cu): weights are read-only for the launch, only activations need the wait.
//
// Each chunk's rows are split over the warps (a row in P column parts when the chunk has
// fewer rows than warps); each warp's partial sums land in shared memory and one thread per
// row adds the P parts in a fixed order, so results do not depend on timing.
//
// Measured on an H100 (docs/PERF.md): 1.8-2x SLOWER per decode step than matvec_row's plain
// 16-byte loads at every ring size, so the runtime leaves it off by default
// (CudaOptions::ring_bytes) and it stays a correct, tested variant for the search. Likely
// causes, not yet separated: the per-chunk barrier and the one-thread row finish sit on
// the critical path of every 16 KB, where plain loads have no block-wide step.
//
// Pipeline per chunk i (one barrier each): wait for chunk i's group; barrier (all copies of
// chunk i visible, everyone done with chunk i-1); finish chunk i-1's rows; refill chunk
// i-1's slot with chunk i + stages - 1; compute chunk i.
#pragma once

#include "cuda/device/async_copy.cuh"
#include "cuda/instructions/matvec_row.cuh"

namespace tessera::cuda {

inline constexpr int kStreamMaxRows = 8;           // rows per chunk at most
inline constexpr int64_t kStreamChunkBytes = 16384;  // a chunk grows by doubling rows up to this
inline constexpr int kStreamMaxStages = 8;
inline constexpr int kStreamMaxParts = kMaxThreads / 32;

struct WeightStream {
  const uint16_t* w = nullptr;
  const uint16_t* w2 = nullptr;  // gated products only
  int64_t K = 0, row_begin = 0, row_end = 0;
  int rows = 0;        // rows per chunk (R)
  int stages = 0;      // ring slots; 0: this task is not streamed (matvec_row's path)
  int64_t slot = 0;    // bf16 elements per slot: R * K per matrix
  uint16_t* ring = nullptr;
  __device__ int64_t chunks() const { return (row_end - row_begin + rows - 1) / rows; }
};

// The stream task t would use, from the plan and the launch's ring (stages == 0 when the
// task has no bf16 weight tile, odd rows, or no ring big enough for two chunks). The
// megakernel and the instruction call this with the same arguments and get the same stream.
__device__ inline WeightStream weight_stream(const KernelArgs& a, const DevTask& t, float* smem) {
  WeightStream s;
  if (a.ring_bytes <= 0 || (t.op != kNormMatvec && t.op != kLmHeadArgmax)) return s;
  const DevBuffer& w = a.buffers[t.w];
  const bool gated = t.op == kNormMatvec && t.w2 >= 0;
  const int64_t K = w.shape[1];
  if (w.dtype != kBF16 || K % 8 != 0 || (gated && a.buffers[t.w2].dtype != kBF16)) return s;
  const int64_t row_bytes = K * 2 * (gated ? 2 : 1);
  int R = 1;
  while (R < kStreamMaxRows && 2 * R * row_bytes <= kStreamChunkBytes) R *= 2;
  const int64_t stages = a.ring_bytes / (R * row_bytes);
  if (stages < 2) return s;
  s.w = static_cast<const uint16_t*>(w.ptr);
  s.w2 = gated ? static_cast<const uint16_t*>(a.buffers[t.w2].ptr) : nullptr;
  s.K = K;
  s.row_begin = t.row_begin;
  s.row_end = t.row_end;
  s.rows = R;
  s.stages = int(stages < kStreamMaxStages ? stages : kStreamMaxStages);
  s.slot = R * K * (gated ? 2 : 1);
  s.ring = reinterpret_cast<uint16_t*>(reinterpret_cast<char*>(smem) + a.ring_offset);
  return s;
}

// Every thread: its share of chunk i's copies, then one commit (an empty group past the
// last chunk, so group counting stays uniform).
__device__ inline void stream_issue(const WeightStream& s, int64_t i) {
  if (i < s.chunks()) {
    const int64_t r0 = s.row_begin + i * s.rows;
    const int64_t rows = min(int64_t(s.rows), s.row_end - r0);
    const int64_t pieces = rows * s.K / 8;
    uint16_t* slot = s.ring + (i % s.stages) * s.slot;
    for (int64_t j = threadIdx.x; j < pieces; j += blockDim.x) {
      cp_async16(slot + j * 8, s.w + r0 * s.K + j * 8);
      if (s.w2) cp_async16(slot + s.rows * s.K + j * 8, s.w2 + r0 * s.K + j * 8);
    }
  }
  cp_async_commit();
}

// Issued before the task's wait: the first stages - 1 chunks.
__device__ inline void stream_prologue(const WeightStream& s) {
  for (int i = 0; i + 1 < s.stages; ++i) stream_issue(s, i);
}

// Partial sums of chunk i's rows: parts[(i & 1)][row][part][matrix].
__device__ inline void stream_compute(const WeightStream& s, int64_t i, const float* h, float* parts) {
  const int64_t r0 = s.row_begin + i * s.rows;
  const int rows = int(min(int64_t(s.rows), s.row_end - r0));
  const uint16_t* slot = s.ring + (i % s.stages) * s.slot;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  const int P = warps / s.rows > 1 ? warps / s.rows : 1;
  const int64_t nvec = s.K / 8;
  float* out = parts + (i & 1) * (kStreamMaxRows * kStreamMaxParts * 2);
  for (int item = warp; item < rows * P; item += warps) {
    const int rr = item / P, p = item % P;
    const int64_t v1 = nvec * (p + 1) / P;
    const uint16_t* row = slot + rr * s.K;
    float a1 = 0.f, a2 = 0.f;
    for (int64_t v = nvec * p / P + lane; v < v1; v += 32) {
      float f[8];
      unpack_bf16x8(*reinterpret_cast<const uint4*>(row + v * 8), f);
      a1 += dot8(f, h + v * 8);
      if (s.w2) {
        unpack_bf16x8(*reinterpret_cast<const uint4*>(row + s.rows * s.K + v * 8), f);
        a2 += dot8(f, h + v * 8);
      }
    }
    a1 = warp_sum(a1);
    if (s.w2) a2 = warp_sum(a2);
    if (lane == 0) {
      out[(rr * kStreamMaxParts + p) * 2] = a1;
      out[(rr * kStreamMaxParts + p) * 2 + 1] = a2;
    }
  }
}

// One thread per row of chunk i adds the parts in order and hands (row, y, y2) to fin.
template <class Fin>
__device__ inline void stream_finish(const WeightStream& s, int64_t i, const float* parts, Fin& fin) {
  const int64_t r0 = s.row_begin + i * s.rows;
  const int rows = int(min(int64_t(s.rows), s.row_end - r0));
  const int warps = blockDim.x >> 5;
  const int P = warps / s.rows > 1 ? warps / s.rows : 1;
  const float* in = parts + (i & 1) * (kStreamMaxRows * kStreamMaxParts * 2);
  if (int(threadIdx.x) < rows) {
    float y = 0.f, y2 = 0.f;
    for (int p = 0; p < P; ++p) {
      y += in[(threadIdx.x * kStreamMaxParts + p) * 2];
      y2 += in[(threadIdx.x * kStreamMaxParts + p) * 2 + 1];
    }
    fin(r0 + threadIdx.x, y, y2);
  }
}

// Runs the stream whose prologue was issued: fin(row, w·h, w2·h) once per tile row, by one
// thread. h (the input vector in shared memory) must be complete before the call. Ends
// with every copy landed; the caller's next barrier makes fin's writes visible.
template <class Fin>
__device__ inline void stream_rows(const WeightStream& s, const float* h, Fin fin) {
  __shared__ float parts[2 * kStreamMaxRows * kStreamMaxParts * 2];
  const int64_t n = s.chunks();
  for (int64_t i = 0; i < n; ++i) {
    cp_async_wait_upto(s.stages - 2);
    __syncthreads();
    if (i > 0) stream_finish(s, i - 1, parts, fin);
    stream_issue(s, i + s.stages - 1);
    stream_compute(s, i, h, parts);
  }
  cp_async_wait_all();
  __syncthreads();
  if (n > 0) stream_finish(s, n - 1, parts, fin);
}

}  // namespace tessera::cuda

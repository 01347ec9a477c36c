// The plan as the megakernel sees it: flat POD arrays with no std:: types, shared by the
// host runtime (compiled by the C++ compiler) and the device code (compiled by nvcc), so
// both agree on the layout by construction. The runtime flattens a tessera::Plan into
// these once; the kernel only indexes them.
#pragma once

#include <cstdint>

namespace tessera::cuda {

// Buffer dtypes as plain ints (BufDType's order, checked by a static_assert in runtime.cpp).
enum DevDType : int32_t { kF32 = 0, kBF16 = 1, kI32 = 2 };

// Opcodes as plain ints (Op's order, checked likewise).
enum DevOp : int32_t {
  kEmbed = 0, kRmsNorm, kNormMatvec, kAttnPartial, kAttnCombine, kLmHeadArgmax, kArgmaxReduce, kAttnMatvec,
};

struct alignas(8) DevBuffer {
  void* ptr = nullptr;
  int32_t dtype = kF32;
  int32_t rank = 0;
  int64_t shape[3] = {0, 0, 0};
};

struct DevWait {
  int32_t counter;
  int32_t pad;
  int64_t threshold;
};

struct DevSignal {
  int32_t counter;
  int32_t pad;
  int64_t inc;
};

// TaskParams plus where the task's waits and signals sit in the flattened arrays.
struct alignas(8) DevTask {
  int32_t id, op;
  int32_t in, in2, in3, norm, w, w2, bias, qk_norm, rope, residual, out, out2;
  int64_t row_begin, row_end;
  int32_t head_dim, split, splits, chunk, index, count;
  int32_t out_at_pos;
  int32_t rope_pairs;  // TaskParams::rope_pairs: rows [row_begin, row_end) and their partners
  float eps;
  int32_t wait_begin, wait_count, signal_begin, signal_count;
  int64_t l2_prefetch;  // TaskParams::l2_prefetch: weight bytes asked of L2 before the waits
};

// Written by the first block whose wait exceeds the bound; read by the host after the
// launch. `abort` is polled by every waiting block so the whole grid exits.
struct WatchdogReport {
  int32_t abort;
  int32_t block;
  int32_t task;
  int32_t counter;
  int64_t value;
  int64_t needed;
  int64_t waited_ns;
};

struct KernelArgs {
  const DevTask* tasks;
  const int32_t* queue_offsets;  // [blocks + 1]
  const int32_t* queue_tasks;
  const DevWait* waits;
  const DevSignal* signals;
  const DevBuffer* buffers;
  unsigned long long* counters;
  const int64_t* per_step;       // E[c]: one step's total increments of counter c
  WatchdogReport* watchdog;
  int64_t step;                  // t: launches before this one (counters are never reset)
  int64_t pos;
  int64_t timeout_ns;
  int64_t ring_offset;       // bytes from the start of dynamic shared memory to the weight ring
  int64_t ring_bytes;        // its size; 0: weight tiles are read with plain loads (matvec_row.cuh)
  int32_t ring_slot_bytes;   // one slot of a warp's ring (instructions/weight_stream.cuh)
  int32_t rows_per_warp;     // 1 or 2 weight rows a warp streams at once (matvec_row.cuh)
  int32_t poll_ns;           // sleep between two polls of an unmet counter (megakernel.cu)
  int32_t buffer_count;
  int64_t desc_offset;       // bytes to the block's descriptor copy in shared memory; -1: none
  int32_t blocks;
  // L2 prefetch before waits (device/l2_prefetch.cuh): at most this many bytes of a task's
  // weight rows / of its KV rows (0: off), issued for the task `l2_prefetch_ahead` places
  // further on in the queue.
  int64_t l2_prefetch_bytes;
  int64_t l2_prefetch_kv_bytes;
  int32_t l2_prefetch_ahead;
  int32_t signal_fence;      // 1: every thread fences before the signal barrier (megakernel.cu)
  // Per-task timeline of this step (PlanRunner::set_trace), indexed like queue_tasks, in
  // %globaltimer nanoseconds, kTraceStamps per task: [0] the block turned to the task, [1]
  // its waits were satisfied, [2] its input was ready and [3] its body done (both marked by
  // the instruction where it has such phases: instructions/common.cuh, mark_phase; 0 where
  // not), [4] it had signalled. nullptr: not recorded.
  unsigned long long* trace;
};

inline constexpr int kTraceStamps = 5;
inline constexpr int kTraceInput = 0, kTraceBody = 1;  // mark_phase's phases: stamps [2] and [3]

#ifdef __CUDACC__
#define TESSERA_HOST_DEVICE __host__ __device__
#else
#define TESSERA_HOST_DEVICE
#endif

// Where norm_matvec and lm_head_argmax keep their working set in shared memory, in floats
// from the instruction's work area (each part 16-byte aligned): the input vector, the
// staged rows (per-head epilogues), the residual rows, the norm weight. The runtime sizes
// shared memory with the same function (runtime.cpp, work_floats).
struct MatvecSmem {
  int64_t h, ys, res, g, total;
};
TESSERA_HOST_DEVICE inline MatvecSmem matvec_smem(int64_t K, int64_t rows, bool staged, bool residual, bool norm) {
  const int64_t k4 = (K + 3) / 4 * 4, r4 = (rows + 3) / 4 * 4;
  MatvecSmem m{};
  m.h = 0;
  m.ys = k4;
  m.res = m.ys + (staged ? r4 : 0);
  m.g = m.res + (residual ? r4 : 0);
  m.total = m.g + (norm ? k4 : 0);
  return m;
}

// attn_partial's short-split path (instructions/attn_partial.cuh): q of the group's heads,
// up to kAttnShortRows K rows and V rows, the scores; floats from the work area.
inline constexpr int64_t kAttnShortRows = 32;
struct AttnShortSmem {
  int64_t q, k, v, s, total;
};
TESSERA_HOST_DEVICE inline AttnShortSmem attn_short_smem(int64_t group, int64_t hd) {
  const auto pad4 = [](int64_t n) { return (n + 3) / 4 * 4; };
  AttnShortSmem m{};
  m.q = 0;
  m.k = pad4(group * hd);
  m.v = m.k + kAttnShortRows * hd;
  m.s = m.v + kAttnShortRows * hd;
  m.total = m.s + group * kAttnShortRows;
  return m;
}

// Shared memory for a block's descriptor copy (device/block_descriptors.cuh).
inline constexpr int64_t kDescHeaderBytes = 16;
inline int64_t desc_bytes(int64_t buffers, int64_t queue_tasks) {
  return kDescHeaderBytes + (buffers * int64_t(sizeof(DevBuffer)) + 15) / 16 * 16 + queue_tasks * int64_t(sizeof(DevTask));
}

// Host entry points of megakernel.cu (plain functions so runtime.cpp needs no nvcc).
// Each returns a cudaError_t as int (0 = success).
int megakernel_max_blocks_per_sm(int threads, int64_t smem_bytes, int* blocks_per_sm);
int megakernel_set_smem(int64_t smem_bytes);
int megakernel_launch(const KernelArgs& args, int threads, int64_t smem_bytes, void* stream);
// The largest block size the kernel is compiled for (its __launch_bounds__). 256 leaves
// ptxas up to 255 registers: at 512 (128 registers) sm_100a and sm_120 spilled to the stack.
inline constexpr int kMaxThreads = 256;
// Floats of reduction scratch at the start of shared memory (instructions/common.cuh).
inline constexpr int kScratchFloatsHost = 64;

}  // namespace tessera::cuda

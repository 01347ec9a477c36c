// The persistent megakernel: one block per plan queue, all co-resident (cooperative
// launch), each walking its queue: wait on the task's counters, run its instruction, make
// the writes visible, signal. This is docs/SCHEDULE_IR.md's execution model and nothing
// more; all scheduling decisions live in the plan.
//
// Waits spin on one thread with acquire loads and a bounded time (the watchdog): a wait
// that exceeds the bound records who waited on what in the WatchdogReport and raises the
// abort flag, which every other waiting block polls, so a plan that cannot finish ends the
// launch instead of hanging the process. A wait also ends early when the flag is up.
//
// With the weight ring on (KernelArgs::ring_bytes: sm_90 and later) weights stream ahead of
// the waits: each warp keeps bulk copies of the block's next weight pieces in flight into
// its slots of the shared-memory ring, across task boundaries, from the launch's start
// (instructions/weight_stream.cuh). Weights are read-only for the launch, so fetching them
// early can never read a stale value.
//
// With L2 prefetch on (KernelArgs::l2_prefetch_bytes, l2_prefetch_kv_bytes) the block asks L2 for a task's weight
// rows or KV rows before waiting on its counters (device/l2_prefetch.cuh), so those bytes
// move while the block would otherwise only wait. A task can also carry its own hint
// from the plan (TaskParams::l2_prefetch: the o-proj tiles, fetched while attention runs).
//
// With a trace buffer (KernelArgs::trace) thread 0 stamps each task with %globaltimer,
// which every SM reads from one clock: when the block turns to it, when its waits are met
// and when it has signalled, and between them where the instruction marks its phases
// (input ready, body done: mark_phase). A few stores per task cost nothing measurable.
#include <cuda_runtime.h>

#include "cuda/device/l2_prefetch.cuh"
#include "cuda/device/sync.cuh"
#include "cuda/device_plan.h"
#include "cuda/instructions/argmax_reduce.cuh"
#include "cuda/instructions/attn_combine.cuh"
#include "cuda/instructions/attn_partial.cuh"
#include "cuda/instructions/embed.cuh"
#include "cuda/instructions/lm_head_argmax.cuh"
#include "cuda/instructions/norm_matvec.cuh"
#include "cuda/instructions/rmsnorm.cuh"
#include "cuda/instructions/weight_stream.cuh"

namespace tessera::cuda {

namespace {

// Returns false when the launch is being aborted (this block's wait timed out, or another's).
__device__ bool wait_for(const KernelArgs& a, const DevTask& t, int* s_ok) {
  if (threadIdx.x == 0) {
    int ok = 1;
    for (int32_t k = 0; k < t.wait_count && ok; ++k) {
      const DevWait w = a.waits[t.wait_begin + k];
      unsigned long long* ctr = a.counters + w.counter;
      const unsigned long long need =
          (unsigned long long)(a.step * a.per_step[w.counter] + w.threshold);
      unsigned long long v = ld_acquire_gpu(ctr);
      if (v >= need) continue;
      const uint64_t start = global_timer_ns();
      while (true) {
        v = ld_acquire_gpu(ctr);
        if (v >= need) break;
        if (ld_volatile_int(&a.watchdog->abort)) { ok = 0; break; }
        const uint64_t waited = global_timer_ns() - start;
        if (int64_t(waited) > a.timeout_ns) {
          if (atomicCAS(&a.watchdog->abort, 0, 1) == 0) {
            a.watchdog->block = int32_t(blockIdx.x);
            a.watchdog->task = t.id;
            a.watchdog->counter = w.counter;
            a.watchdog->value = int64_t(v);
            a.watchdog->needed = int64_t(need);
            a.watchdog->waited_ns = int64_t(waited);
            __threadfence_system();
          }
          ok = 0;
          break;
        }
        __nanosleep(unsigned(a.poll_ns));
      }
    }
    *s_ok = ok;
  }
  __syncthreads();
  return *s_ok != 0;
}

// The block's writes become visible before its signals: the barrier orders every thread's
// writes before thread 0's release, and a release at GPU scope is cumulative over what
// its thread has observed (the PTX memory model), so one fence in thread 0 (the red's own
// release) publishes the whole block's writes. A fence in every thread before the barrier
// (KernelArgs::signal_fence, the first version) costs one more GPU-scope fence per task on
// the critical path.
__device__ void signal(const KernelArgs& a, const DevTask& t) {
  if (a.signal_fence) __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int32_t k = 0; k < t.signal_count; ++k) {
      const DevSignal s = a.signals[t.signal_begin + k];
      red_release_gpu_add(a.counters + s.counter, (unsigned long long)s.inc);
    }
  }
}

__device__ __forceinline__ void run(const Ctx& c) {
  switch (c.t.op) {
    case kEmbed: run_embed(c); break;
    case kRmsNorm: run_rmsnorm(c); break;
    case kNormMatvec:
    case kAttnMatvec: run_norm_matvec(c); break;  // attention folded in as its prologue
    case kAttnPartial: run_attn_partial(c); break;
    case kAttnCombine: run_attn_combine(c); break;
    case kLmHeadArgmax: run_lm_head_argmax(c); break;
    case kArgmaxReduce: run_argmax_reduce(c); break;
    default: break;  // the runtime only uploads known opcodes
  }
}

// Queue entry k's stamps in the trace (KernelArgs::trace: kTraceStamps per task). Computed
// at each use rather than held across the task.
__device__ __forceinline__ unsigned long long* task_stamps(const KernelArgs& a, int32_t k) {
  return a.trace + int64_t(kTraceStamps) * k;
}

__global__ void __launch_bounds__(kMaxThreads, 1) tessera_megakernel(const KernelArgs a) {
  extern __shared__ __align__(16) float smem[];
  __shared__ int s_ok;
  const int32_t b = int32_t(blockIdx.x);
  load_block_descriptors(a, smem);
  const DevBuffer* bufs = block_buffers(a, smem);
  stream_ring_init(stream_ring(a, smem), a.queue_offsets[b], a.queue_offsets[b + 1]);
  if ((threadIdx.x & 31) == 0) stream_fill(a, smem);
  const int32_t q0 = a.queue_offsets[b], q1 = a.queue_offsets[b + 1];
  if (threadIdx.x == 0) phase_stamps() = nullptr;
  for (int32_t k = q0; k < q0 + a.l2_prefetch_ahead && k < q1; ++k)
    prefetch_task(a, bufs, block_task(a, smem, k), a.l2_prefetch_bytes, a.l2_prefetch_kv_bytes);
  for (int32_t k = q0; k < q1; ++k) {
    const DevTask& t = block_task(a, smem, k);
    if (a.trace != nullptr && threadIdx.x == 0) {
      unsigned long long* stamps = task_stamps(a, k);
      stamps[0] = global_timer_ns();
      stamps[2] = stamps[3] = 0;  // phases this step's path does not mark (not an earlier step's)
    }
    if (k + a.l2_prefetch_ahead < q1)
      prefetch_task(a, bufs, block_task(a, smem, k + a.l2_prefetch_ahead), a.l2_prefetch_bytes,
                    a.l2_prefetch_kv_bytes);
    if (t.l2_prefetch > 0) prefetch_task(a, bufs, t, t.l2_prefetch, 0);  // the plan's hint
    if (!wait_for(a, t, &s_ok)) {
      stream_drain(a, smem);
      return;
    }
    if (a.trace != nullptr && threadIdx.x == 0) {
      unsigned long long* stamps = task_stamps(a, k);
      stamps[1] = global_timer_ns();
      phase_stamps() = stamps + 2;
    }
    const Ctx c{a, t, smem, reinterpret_cast<int*>(smem + 32), smem + kScratchFloats, smem, bufs};
    run(c);
    signal(a, t);
    if (a.trace != nullptr && threadIdx.x == 0) task_stamps(a, k)[4] = global_timer_ns();
  }
}

}  // namespace

int megakernel_max_blocks_per_sm(int threads, int64_t smem_bytes, int* blocks_per_sm) {
  return int(cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks_per_sm, tessera_megakernel,
                                                           threads, size_t(smem_bytes)));
}

int megakernel_set_smem(int64_t smem_bytes) {
  return int(cudaFuncSetAttribute(tessera_megakernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  int(smem_bytes)));
}

int megakernel_launch(const KernelArgs& args, int threads, int64_t smem_bytes, void* stream) {
  void* params[] = {const_cast<KernelArgs*>(&args)};
  return int(cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(tessera_megakernel),
                                         dim3(unsigned(args.blocks)), dim3(unsigned(threads)),
                                         params, size_t(smem_bytes),
                                         static_cast<cudaStream_t>(stream)));
}

}  // namespace tessera::cuda

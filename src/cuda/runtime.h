// The CUDA runtime of a plan. Two layers:
//  - PlanRunner owns everything a plan needs on the GPU (one allocation per buffer, the
//    counters, the flattened tasks and queues) and runs decode steps as one cooperative
//    launch each. It knows nothing about models: the per-opcode tests drive it directly
//    with one-task plans and host-filled buffers.
//  - CudaEngine puts a model behind it: uploads the weights (bf16 or f32 as the plan's
//    buffers say) and constants, and offers CpuEngine's forward(token, pos).
// Both refuse plans the validator rejects (the only escape, unsafe_skip_validation, exists
// for tests that must run an unsafe plan: the watchdog's). Structural checks that keep the
// GPU's memory accesses in bounds (footprint() of every task, queue and counter indices)
// run even then. Counters are zeroed once and never reset; step t waits for
// t * per_step_total + threshold (docs/SCHEDULE_IR.md).
#pragma once

#include "engine/backend.h"
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/model.h"
#include "plan/plan.h"

namespace tessera {

struct CudaOptions {
  bool unsafe_skip_validation = false;  // tests of the watchdog only
  double watchdog_seconds = 0;          // bound of one wait; 0: $TESSERA_WATCHDOG_SECONDS or 2
  int64_t guard_bytes = 0;              // tests: bytes allocated before and after every buffer
  // Shared memory for the weight stream's ring (instructions/weight_stream.cuh; bulk copies,
  // so compute capability 9.0 and later only). -1: $TESSERA_RING_BYTES, else what the plan
  // asks (Resources::smem_bytes: the lowering's pipeline_stages x 16 KiB, 0 by default,
  // slower than plain loads on an H100, docs/PERF.md); clamped to what the device leaves
  // after the largest task's working set. 0: weights are read with plain loads (matvec_row.cuh), as
  // they always are below 9.0.
  int64_t ring_bytes = -1;
  // Bytes of one slot of a warp's ring: a multiple of 128 in [512, 65536]. 0:
  // $TESSERA_RING_SLOT_BYTES, else the default in runtime.cpp.
  int64_t ring_slot_bytes = 0;
  // Weight rows a warp streams at once with plain loads (1 or 2). 0: $TESSERA_ROWS_PER_WARP,
  // else the plan's (Resources::rows_per_warp).
  int rows_per_warp = 0;
  // Nanoseconds a waiting block sleeps between polls of a counter (every waiting block polls
  // one L2 line, so shorter is not free). 0: $TESSERA_POLL_NS, else the default in runtime.cpp.
  int poll_ns = 0;
  // Copy the plan's descriptors (the block's tasks, every buffer) into shared memory at the
  // launch's start, when they fit (device/block_descriptors.cuh). -1: $TESSERA_DESC_SMEM
  // (0 or 1), else on. 0: read from global memory.
  int descriptors_in_smem = -1;
  // L2 prefetch of a task's weight rows before its waits (device/l2_prefetch.cuh): at most
  // this many bytes per task. -1: $TESSERA_L2_PREFETCH_BYTES, else the default in
  // runtime.cpp; 0: off.
  int64_t l2_prefetch_bytes = -1;
  // The same for the KV rows an attention split reads (on by default). -1:
  // $TESSERA_L2_PREFETCH_KV_BYTES, else the default in runtime.cpp; 0: off.
  int64_t l2_prefetch_kv_bytes = -1;
  // Which task is prefetched: the one about to wait (0) or that many places further on.
  // -1: $TESSERA_L2_PREFETCH_AHEAD, else the default in runtime.cpp.
  int l2_prefetch_ahead = -1;
  // Every thread fences before a task's signal (the first version) instead of thread 0's
  // release alone. -1: $TESSERA_SIGNAL_FENCE (0 or 1), else off.
  int signal_fence = -1;
  int device = 0;
};

// True when a CUDA device is usable; otherwise false with the reason in *why (no driver,
// no device, ...). Tests skip on false.
bool cuda_device_available(std::string* why = nullptr);
// Streaming multiprocessors of a device (what `--sms` of a plan for it should be).
int cuda_device_sms(int device = 0);

class PlanRunner {
 public:
  PlanRunner(const Plan& plan, const CudaOptions& options = {});
  ~PlanRunner();
  PlanRunner(const PlanRunner&) = delete;
  PlanRunner& operator=(const PlanRunner&) = delete;

  // Whole-buffer copies; n must equal the buffer's size in bytes.
  void write(int32_t buf, const void* bytes, size_t n);
  void read(int32_t buf, void* bytes, size_t n) const;
  // The buffer with its guards: [guard_bytes][buffer][guard_bytes].
  std::vector<uint8_t> read_with_guards(int32_t buf) const;
  void write_with_guards(int32_t buf, const std::vector<uint8_t>& bytes);
  size_t bytes(int32_t buf) const;

  // One decode step at `pos` (one launch). Throws tessera::Error with the watchdog's report
  // when a wait exceeded the bound, or with CUDA's error; the runner is unusable afterwards.
  void step(int64_t pos);
  // The same step split for timing (tessera bench): enqueue launches on `stream` (a
  // cudaStream_t; nullptr: the runner's own) without waiting; after synchronising that
  // stream, check_after_sync throws as step() would when any enqueued step failed.
  void enqueue(int64_t pos, void* stream);
  void check_after_sync();
  // Throws tessera::Error when an earlier step failed (watchdog, CUDA error): the device
  // state is then unknown and no further step may run.
  void check_usable() const;
  // Uses at most `bytes` of the weight ring in later steps (0: plain loads); at most the
  // ring allocated at construction. For measuring the ring's effect.
  void set_ring_bytes(int64_t bytes);
  int64_t ring_bytes() const;
  void set_rows_per_warp(int rows);
  int rows_per_warp() const;
  // Records when each task of every later step was turned to, was ready (its waits met) and
  // had signalled, on the GPU's global timer (one clock for all SMs), and where its
  // instruction marks them, when its input was ready and its body done. Off by default.
  void set_trace(bool on);
  struct TaskTiming {
    int32_t task = 0, block = 0;
    int64_t turned_ns = 0, ready_ns = 0, done_ns = 0;
    int64_t input_ns = 0, body_ns = 0;  // 0: the instruction has no such mark
  };
  // The last finished step's timeline, in queue order per block; throws when tracing is off
  // or no traced step has run.
  std::vector<TaskTiming> last_trace() const;
  int64_t steps() const;  // successful launches so far (t of the next step)
  int64_t smem_bytes() const;
  int blocks() const;
  int threads() const;
  std::string device_name() const;
  const Plan& plan() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class CudaEngine : public DecodeBackend {
 public:
  // Validates the plan (unless options.unsafe_skip_validation), checks every Weight buffer
  // against the model's tensor of that name (lm_head.weight falls back to the embedding in
  // a tied model), uploads weights and constants.
  CudaEngine(const Plan& plan, const Model& model, const CudaOptions& options = {});
  ~CudaEngine() override;

  // As CpuEngine::forward: pos must be the number of tokens run since reset(). Returns the
  // logits [vocab] (valid until the next call).
  const std::vector<float>& forward(int token, int pos) override;
  int next_token() const { return next_token_; }  // the plan's argmax of the last logits
  void reset() override { pos_ = 0; }
  int capacity() const override;
  int position() const { return pos_; }
  PlanRunner& runner() { return *runner_; }

 private:
  const Model& model_;
  std::unique_ptr<PlanRunner> runner_;
  int32_t logits_buf_ = -1;
  std::vector<float> logits_;
  int next_token_ = -1;
  int pos_ = 0;
};

}  // namespace tessera

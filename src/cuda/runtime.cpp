// PlanRunner and CudaEngine (runtime.h). Host code only, compiled by the C++ compiler
// against the CUDA runtime API; the kernel is reached through megakernel.cu's three plain
// functions. Every CUDA call is checked and turned into a tessera::Error naming the call,
// so a failure on a lent GPU says what failed without a debugger.
#include "cuda/runtime.h"

#include <cuda_runtime.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "core/bf16_convert.h"
#include "core/dtype.h"
#include "core/error.h"
#include "cuda/device_plan.h"
#include "cuda/failed_step_latch.h"
#include "cuda/watchdog.h"
#include "plan/attn_fold.h"
#include "plan/footprint.h"
#include "plan/lower.h"
#include "validate/validate.h"

namespace tessera {

using namespace tessera::cuda;

static_assert(int(BufDType::F32) == kF32 && int(BufDType::BF16) == kBF16 && int(BufDType::I32) == kI32);
static_assert(int(Op::Embed) == kEmbed && int(Op::RmsNorm) == kRmsNorm &&
              int(Op::NormMatvec) == kNormMatvec && int(Op::AttnPartial) == kAttnPartial &&
              int(Op::AttnCombine) == kAttnCombine && int(Op::LmHeadArgmax) == kLmHeadArgmax &&
              int(Op::ArgmaxReduce) == kArgmaxReduce && int(Op::AttnMatvec) == kAttnMatvec && kNumOps == 8);

namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    fail("CUDA: {} failed: {} ({})", what, cudaGetErrorString(e), cudaGetErrorName(e));
}
void check(int e, const char* what) { check(cudaError_t(e), what); }

int64_t checked_mul(int64_t a, int64_t b, const std::string& what) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail("{}: size {} * {} overflows", what, a, b);
  return r;
}

double default_watchdog_seconds() {
  if (const char* e = std::getenv("TESSERA_WATCHDOG_SECONDS"); e && *e) {
    char* end = nullptr;
    const double s = std::strtod(e, &end);
    if (end && *end == '\0' && s > 0 && s < 1e6) return s;
    fail("TESSERA_WATCHDOG_SECONDS='{}': expected a positive number of seconds", e);
  }
  return 2.0;
}

// The weight ring is the plan's to ask for (Resources::smem_bytes, from the lowering's
// pipeline_stages knob: 0 by default, since on an H100 the per-warp bulk-copy ring measured
// 1.2-1.4x slower per step than plain 16-byte loads, docs/PERF.md, fourth session); it is a
// tested variant (bit-identical to plain loads) the search varies. CudaOptions::ring_bytes
// and TESSERA_RING_BYTES override the plan, for experiments.
constexpr int64_t kDefaultRingSlotBytes = 4096;

int64_t env_int(const char* name, int64_t lo, int64_t hi, const char* expected) {
  const char* e = std::getenv(name);
  if (!e || !*e) return -1;
  char* end = nullptr;
  const long long v = std::strtoll(e, &end, 10);
  if (end && *end == '\0' && v >= lo && v <= hi) return v;
  fail("{}='{}': expected {}", name, e, expected);
}

// The kernel's dynamic shared memory bound (cudaFuncAttributeMaxDynamicSharedMemorySize)
// belongs to the kernel on a device, not to a runner: with two runners in one process
// (`bench --compare` of a plan with the weight ring against one without) the second's
// smaller bound made the first's launches fail as too large for a cooperative launch. So
// the bound only grows, to the most any runner on the device asked; each launch still gets
// (and occupancy is computed for) its own amount.
int raise_megakernel_smem_bound(int device, int64_t bytes) {
  static std::mutex mu;
  static std::map<int, int64_t> bound;
  std::lock_guard<std::mutex> lock(mu);
  int64_t& b = bound[device];
  if (bytes <= b) return 0;
  const int err = megakernel_set_smem(bytes);
  if (err == 0) b = bytes;
  return err;
}

// A byte count from CudaOptions (-1: from the environment variable, else the fallback).
int64_t requested_bytes(int64_t option, const char* what, const char* env, int64_t fallback) {
  if (option >= 0) return option;
  if (option != -1) fail("CudaOptions::{} = {}: expected -1 or >= 0", what, option);
  const int64_t v = env_int(env, 0, int64_t(1) << 30, "a number of bytes (0 turns it off)");
  return v >= 0 ? v : fallback;
}

int64_t requested_ring_slot_bytes(const CudaOptions& o) {
  int64_t v = o.ring_slot_bytes;
  const char* what = "CudaOptions::ring_slot_bytes";
  if (v == 0) {
    v = env_int("TESSERA_RING_SLOT_BYTES", 1, 1 << 20, "a multiple of 128 in [512, 65536]");
    what = "TESSERA_RING_SLOT_BYTES";
    if (v < 0) return kDefaultRingSlotBytes;
  }
  if (v < 512 || v > 65536 || v % 128 != 0) fail("{} = {}: expected a multiple of 128 in [512, 65536]", what, v);
  return v;
}

constexpr int kDefaultPollNs = 100;

int requested_poll_ns(const CudaOptions& o) {
  if (o.poll_ns < 0 || o.poll_ns > 100000) fail("CudaOptions::poll_ns = {}: expected 0..100000", o.poll_ns);
  if (o.poll_ns > 0) return o.poll_ns;
  const int64_t v = env_int("TESSERA_POLL_NS", 1, 100000, "nanoseconds in [1, 100000]");
  return v > 0 ? int(v) : kDefaultPollNs;
}

// At most this much shared memory holds descriptors; plans with longer queues (the finest
// knobs) read them from global memory.
constexpr int64_t kMaxDescBytes = 96 * 1024;

bool requested_desc_smem(const CudaOptions& o) {
  if (o.descriptors_in_smem == 0 || o.descriptors_in_smem == 1) return o.descriptors_in_smem == 1;
  if (o.descriptors_in_smem != -1)
    fail("CudaOptions::descriptors_in_smem = {}: expected -1, 0 or 1", o.descriptors_in_smem);
  return env_int("TESSERA_DESC_SMEM", 0, 1, "0 or 1") != 0;  // unset (-1): on
}

// L2 prefetch before waits (docs/PERF.md, fifth session, H200). Weight rows: off (1B at
// position 1: 1.133 ms without, 1.180-1.291 ms with 256 KiB-8 MiB per task). KV rows: on
// (1B at position 4096: 1.786 -> 1.631 ms; position 1 unchanged). A split's KV rows are
// 64 KiB at 4096 positions and 16 splits, so the cap only bounds very long contexts.
constexpr int64_t kDefaultL2PrefetchBytes = 0;
constexpr int64_t kDefaultL2PrefetchKvBytes = 1 << 20;
constexpr int kDefaultL2PrefetchAhead = 0;

int requested_l2_prefetch_ahead(const CudaOptions& o) {
  if (o.l2_prefetch_ahead >= 0 && o.l2_prefetch_ahead <= 8) return o.l2_prefetch_ahead;
  if (o.l2_prefetch_ahead != -1) fail("CudaOptions::l2_prefetch_ahead = {}: expected -1 or 0..8", o.l2_prefetch_ahead);
  const int64_t v = env_int("TESSERA_L2_PREFETCH_AHEAD", 0, 8, "tasks ahead in 0..8");
  return v >= 0 ? int(v) : kDefaultL2PrefetchAhead;
}

int checked_rows_per_warp(int rows, const char* what) {
  if (rows != 1 && rows != 2) fail("{} = {}: expected 1 or 2", what, rows);
  return rows;
}

// The plan's choice (Resources::rows_per_warp, a lowering knob) unless an option or
// $TESSERA_ROWS_PER_WARP overrides it, for experiments.
int requested_rows_per_warp(const CudaOptions& o, const Plan& plan) {
  if (o.rows_per_warp != 0) return checked_rows_per_warp(o.rows_per_warp, "CudaOptions::rows_per_warp");
  if (const char* e = std::getenv("TESSERA_ROWS_PER_WARP"); e && *e) {
    if (std::string(e) == "1") return 1;
    if (std::string(e) == "2") return 2;
    fail("TESSERA_ROWS_PER_WARP='{}': expected 1 or 2", e);
  }
  return checked_rows_per_warp(plan.resources.rows_per_warp, "plan resources.rows_per_warp");
}

// A device allocation freed on destruction.
struct DeviceMem {
  void* p = nullptr;
  size_t n = 0;
  DeviceMem() = default;
  DeviceMem(const DeviceMem&) = delete;
  DeviceMem& operator=(const DeviceMem&) = delete;
  DeviceMem(DeviceMem&& o) noexcept : p(o.p), n(o.n) { o.p = nullptr; o.n = 0; }
  DeviceMem& operator=(DeviceMem&& o) noexcept {
    if (this != &o) {
      if (p) cudaFree(p);
      p = o.p;
      n = o.n;
      o.p = nullptr;
      o.n = 0;
    }
    return *this;
  }
  ~DeviceMem() { if (p) cudaFree(p); }
  void alloc(size_t bytes, const char* what) {
    n = bytes;
    check(cudaMalloc(&p, std::max<size_t>(bytes, 16)), what);
  }
  template <class T>
  void upload(const std::vector<T>& v, const char* what) {
    alloc(v.size() * sizeof(T), what);
    if (!v.empty()) check(cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice), what);
  }
};

// Shared-memory floats a task needs beyond the reduction scratch (instructions/common.cuh).
int64_t work_floats(const Plan& plan, const Task& t) {
  auto pad4 = [](int64_t n) { return (n + 3) / 4 * 4; };
  switch (t.op) {
    case Op::NormMatvec: {
      const int64_t K = plan.buffers[size_t(t.p.in)].shape[0];
      const bool staged = t.p.qk_norm >= 0 || t.p.rope >= 0;
      return matvec_smem(K, matvec_task_rows(t.p).rows(), staged, t.p.residual >= 0, t.p.norm >= 0).total;
    }
    case Op::AttnMatvec: {
      const Buffer& kc = plan.buffers[size_t(t.p.in2)];
      return attn_fold_smem(plan.buffers[size_t(t.p.in)].shape[0], t.p.head_dim, kc.shape[1], kc.shape[0],
                            kc.dtype == BufDType::BF16, t.p.row_end - t.p.row_begin)
          .total;
    }
    case Op::LmHeadArgmax:
      return matvec_smem(plan.buffers[size_t(t.p.in)].shape[0], 0, false, false, t.p.norm >= 0).total;
    case Op::AttnPartial: {  // q, scores and stats of every query head of a kv group; the warps' sums
      const int64_t hd = std::max<int64_t>(t.p.head_dim, 1);
      const int64_t hq = plan.buffers[size_t(t.p.in)].shape[0] / hd;
      const int64_t hkv = std::max<int64_t>(plan.buffers[size_t(t.p.in2)].shape[1] / hd, 1);
      const int64_t group = std::max<int64_t>(hq / hkv, 1);
      const int64_t warps = (std::max(plan.resources.threads, 32) + 31) / 32;
      return std::max(pad4(group * hd) + group * t.p.chunk + pad4(2 * group) + warps * group * hd,
                      attn_short_smem(group, hd).total);
    }
    default: return 0;
  }
}

// Structure the GPU relies on for memory safety, checked even for unvalidated plans.
void check_structure(const Plan& plan) {
  const std::string where = fmt::format("plan '{}'", plan.model);
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    const Task& t = plan.tasks[i];
    if (t.id != int32_t(i)) fail("{}: task at index {} has id {}", where, i, t.id);
    footprint(plan, t);  // throws on operands that do not fit the opcode
    for (const Wait& w : t.waits)
      if (w.counter < 0 || size_t(w.counter) >= plan.counters.size())
        fail("{}: task {} waits on counter {} (the plan has {})", where, t.id, w.counter, plan.counters.size());
    for (const Signal& s : t.signals)
      if (s.counter < 0 || size_t(s.counter) >= plan.counters.size())
        fail("{}: task {} signals counter {} (the plan has {})", where, t.id, s.counter, plan.counters.size());
  }
  std::vector<int> seen(plan.tasks.size(), 0);
  for (size_t b = 0; b < plan.queues.size(); ++b)
    for (int32_t id : plan.queues[b]) {
      if (id < 0 || size_t(id) >= plan.tasks.size())
        fail("{}: queue {} names task {} (the plan has {})", where, b, id, plan.tasks.size());
      if (seen[size_t(id)]++) fail("{}: task {} appears in more than one queue slot", where, id);
    }
  for (size_t i = 0; i < seen.size(); ++i)
    if (!seen[i]) fail("{}: task {} is in no queue", where, i);
  for (const Buffer& b : plan.buffers)
    if (b.shape.size() > 3) fail("{}: buffer '{}' has rank {}; the CUDA backend supports up to 3", where, b.name, b.shape.size());
  if (plan.queues.empty()) fail("{}: no queues", where);
  if (plan.context <= 0) fail("{}: context {} must be positive", where, plan.context);
}

}  // namespace

bool cuda_device_available(std::string* why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    if (why) *why = fmt::format("cudaGetDeviceCount failed: {}", cudaGetErrorString(e));
    cudaGetLastError();
    return false;
  }
  if (n == 0) {
    if (why) *why = "no CUDA device";
    return false;
  }
  return true;
}

int cuda_device_sms(int device) {
  int n = 0;
  check(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute(MultiProcessorCount)");
  return n;
}

struct PlanRunner::Impl {
  Plan plan;
  CudaOptions opt;
  cudaDeviceProp prop{};
  std::vector<DeviceMem> bufs;        // with guards
  std::vector<size_t> buf_bytes;      // without guards
  DeviceMem tasks, queue_offsets, queue_tasks, waits, signals, dev_buffers, counters, per_step, watchdog;
  int blocks = 0, threads = 0;
  int64_t smem = 0;
  int64_t ring_offset = 0, ring_bytes = 0, ring_used = 0;  // weight ring in shared memory
  int64_t ring_slot_bytes = 0;
  int64_t desc_offset = -1;  // the block's descriptor copy in shared memory; -1: none
  int64_t steps = 0;
  DeviceMem trace;          // kTraceStamps timestamps per queue entry while tracing
  int64_t traced_steps = 0; // steps launched with the trace on
  // A failed launch leaves the runner unusable: its counters no longer match the step count.
  FailedStepLatch latch;
  cudaStream_t stream = nullptr;

  void* ptr(int32_t b) const { return static_cast<uint8_t*>(bufs[size_t(b)].p) + opt.guard_bytes; }
  void check_buf(int32_t b, const char* what) const {
    if (b < 0 || size_t(b) >= bufs.size())
      fail("{}: buffer {} does not exist (the plan has {})", what, b, bufs.size());
  }
};

PlanRunner::PlanRunner(const Plan& plan, const CudaOptions& options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.plan = plan;
  s.opt = options;
  if (s.opt.watchdog_seconds <= 0) s.opt.watchdog_seconds = default_watchdog_seconds();
  if (s.opt.guard_bytes < 0 || s.opt.guard_bytes % 256 != 0)
    fail("guard_bytes {} must be a non-negative multiple of 256 (keeps buffers 16-byte aligned)", s.opt.guard_bytes);

  check_structure(plan);
  if (!s.opt.unsafe_skip_validation) {
    ValidationReport r = validate_plan(plan);
    if (!r.ok())
      fail("plan '{}' is rejected by the validator; the CUDA backend runs only validated plans:\n{}",
           plan.model, r.to_text());
  }

  std::string why;
  if (!cuda_device_available(&why)) fail("CUDA backend: {}", why);
  check(cudaSetDevice(s.opt.device), "cudaSetDevice");
  check(cudaGetDeviceProperties(&s.prop, s.opt.device), "cudaGetDeviceProperties");
  int coop = 0;
  check(cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, s.opt.device), "cudaDeviceGetAttribute");
  if (!coop) fail("CUDA device '{}' does not support cooperative launches", s.prop.name);

  // Launch shape.
  s.threads = plan.resources.threads;
  if (s.threads < 32 || s.threads > kMaxThreads || s.threads % 32 != 0)
    fail("plan '{}' asks for {} threads per block; the CUDA backend runs 32..{} in multiples of 32",
         plan.model, s.threads, kMaxThreads);
  s.blocks = int(plan.queues.size());
  int64_t work = 0;
  for (const Task& t : plan.tasks) work = std::max(work, work_floats(plan, t));
  s.smem = (kScratchFloatsHost + work) * 4;
  int smem_optin = 0;
  check(cudaDeviceGetAttribute(&smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, s.opt.device),
        "cudaDeviceGetAttribute(MaxSharedMemoryPerBlockOptin)");
  // The block's descriptors after the largest working set, when they fit.
  size_t longest_queue = 0;
  for (const auto& q : plan.queues) longest_queue = std::max(longest_queue, q.size());
  const int64_t desc = desc_bytes(int64_t(plan.buffers.size()), int64_t(longest_queue));
  s.desc_offset = -1;
  if (requested_desc_smem(s.opt) && desc <= kMaxDescBytes && (s.smem + 15) / 16 * 16 + desc <= int64_t(smem_optin) - 8192) {
    s.desc_offset = (s.smem + 15) / 16 * 16;
    s.smem = s.desc_offset + desc;
  }
  // The weight ring sits after them, in what the device has left (the kernel's static
  // shared memory, ~4 KB, is set aside too).
  s.ring_offset = (s.smem + 127) / 128 * 128;
  s.ring_slot_bytes = requested_ring_slot_bytes(s.opt);
  s.ring_bytes = std::min<int64_t>(requested_bytes(s.opt.ring_bytes, "ring_bytes", "TESSERA_RING_BYTES", plan.resources.smem_bytes), int64_t(smem_optin) - s.ring_offset - 8192);
  if (s.prop.major < 9) s.ring_bytes = 0;  // bulk copies are sm_90+
  s.ring_bytes = s.ring_bytes < 4096 ? 0 : s.ring_bytes / 128 * 128;
  s.ring_used = s.ring_bytes;
  if (s.ring_bytes > 0) s.smem = s.ring_offset + s.ring_bytes;
  s.opt.rows_per_warp = requested_rows_per_warp(s.opt, plan);
  s.opt.poll_ns = requested_poll_ns(s.opt);
  s.opt.l2_prefetch_bytes = requested_bytes(s.opt.l2_prefetch_bytes, "l2_prefetch_bytes", "TESSERA_L2_PREFETCH_BYTES",
                                            kDefaultL2PrefetchBytes);
  s.opt.l2_prefetch_kv_bytes = requested_bytes(s.opt.l2_prefetch_kv_bytes, "l2_prefetch_kv_bytes",
                                               "TESSERA_L2_PREFETCH_KV_BYTES", kDefaultL2PrefetchKvBytes);
  s.opt.l2_prefetch_ahead = requested_l2_prefetch_ahead(s.opt);
  if (s.opt.signal_fence < -1 || s.opt.signal_fence > 1)
    fail("CudaOptions::signal_fence = {}: expected -1, 0 or 1", s.opt.signal_fence);
  if (s.opt.signal_fence == -1) s.opt.signal_fence = env_int("TESSERA_SIGNAL_FENCE", 0, 1, "0 or 1") == 1 ? 1 : 0;
  if (s.smem > smem_optin)
    fail("plan '{}' needs {} bytes of shared memory per block (largest task working set); device '{}' "
         "allows {}", plan.model, s.smem, s.prop.name, smem_optin);
  check(raise_megakernel_smem_bound(s.opt.device, s.smem), "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)");
  int per_sm = 0;
  check(megakernel_max_blocks_per_sm(s.threads, s.smem, &per_sm), "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
  if (int64_t(per_sm) * s.prop.multiProcessorCount < s.blocks)
    fail("plan '{}' needs {} co-resident blocks; device '{}' holds {} ({} per SM x {} SMs) with {} threads "
         "and {} bytes of shared memory per block", plan.model, s.blocks, s.prop.name,
         int64_t(per_sm) * s.prop.multiProcessorCount, per_sm, s.prop.multiProcessorCount, s.threads, s.smem);

  // Buffers, each with its own allocation (guards around it in tests).
  std::vector<DevBuffer> dev_bufs;
  for (const Buffer& b : plan.buffers) {
    int64_t n = 1;
    for (int64_t d : b.shape) {
      if (d < 0) fail("plan '{}': buffer '{}' has a negative dimension", plan.model, b.name);
      n = checked_mul(n, d, fmt::format("buffer '{}'", b.name));
    }
    const int64_t bytes = checked_mul(n, buf_dtype_size(b.dtype), fmt::format("buffer '{}'", b.name));
    DeviceMem m;
    m.alloc(size_t(bytes + 2 * s.opt.guard_bytes), "cudaMalloc (plan buffer)");
    check(cudaMemset(m.p, 0, m.n), "cudaMemset (plan buffer)");
    s.buf_bytes.push_back(size_t(bytes));
    DevBuffer d;
    d.ptr = static_cast<uint8_t*>(m.p) + s.opt.guard_bytes;
    d.dtype = int32_t(b.dtype);
    d.rank = int32_t(b.shape.size());
    for (size_t i = 0; i < b.shape.size(); ++i) d.shape[i] = b.shape[i];
    dev_bufs.push_back(d);
    s.bufs.push_back(std::move(m));
  }

  // Tasks, waits, signals, queues as flat arrays.
  std::vector<DevTask> tasks;
  std::vector<DevWait> waits;
  std::vector<DevSignal> signals;
  for (const Task& t : plan.tasks) {
    const TaskParams& p = t.p;
    DevTask d{};
    d.id = t.id;
    d.op = int32_t(t.op);
    d.in = p.in; d.in2 = p.in2; d.in3 = p.in3; d.norm = p.norm; d.w = p.w; d.w2 = p.w2;
    d.bias = p.bias; d.qk_norm = p.qk_norm; d.rope = p.rope; d.residual = p.residual;
    d.out = p.out; d.out2 = p.out2;
    d.row_begin = p.row_begin; d.row_end = p.row_end;
    d.head_dim = p.head_dim; d.split = p.split; d.splits = p.splits; d.chunk = p.chunk;
    d.index = p.index; d.count = p.count; d.out_at_pos = p.out_at_pos ? 1 : 0; d.eps = p.eps;
    d.rope_pairs = p.rope_pairs ? 1 : 0;
    d.l2_prefetch = p.l2_prefetch;
    d.wait_begin = int32_t(waits.size());
    d.wait_count = int32_t(t.waits.size());
    for (const Wait& w : t.waits) waits.push_back(DevWait{w.counter, 0, w.threshold});
    d.signal_begin = int32_t(signals.size());
    d.signal_count = int32_t(t.signals.size());
    for (const Signal& g : t.signals) signals.push_back(DevSignal{g.counter, 0, g.inc});
    tasks.push_back(d);
  }
  std::vector<int32_t> offsets{0}, queue_tasks;
  for (const auto& q : plan.queues) {
    queue_tasks.insert(queue_tasks.end(), q.begin(), q.end());
    offsets.push_back(int32_t(queue_tasks.size()));
  }
  s.tasks.upload(tasks, "upload tasks");
  s.waits.upload(waits, "upload waits");
  s.signals.upload(signals, "upload signals");
  s.queue_offsets.upload(offsets, "upload queue offsets");
  s.queue_tasks.upload(queue_tasks, "upload queues");
  s.dev_buffers.upload(dev_bufs, "upload buffer table");
  s.per_step.upload(per_step_totals(plan), "upload per-step counter totals");
  s.counters.upload(std::vector<unsigned long long>(plan.counters.size(), 0), "zero counters");
  s.watchdog.upload(std::vector<WatchdogReport>(1, WatchdogReport{}), "zero watchdog report");
  check(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking), "cudaStreamCreate");
}

PlanRunner::~PlanRunner() {
  if (impl_ && impl_->stream) cudaStreamDestroy(impl_->stream);
}

size_t PlanRunner::bytes(int32_t buf) const {
  impl_->check_buf(buf, "PlanRunner::bytes");
  return impl_->buf_bytes[size_t(buf)];
}

void PlanRunner::write(int32_t buf, const void* bytes, size_t n) {
  Impl& s = *impl_;
  s.check_buf(buf, "PlanRunner::write");
  if (n != s.buf_bytes[size_t(buf)])
    fail("write to buffer '{}': {} bytes given, the buffer has {}", s.plan.buffers[size_t(buf)].name, n,
         s.buf_bytes[size_t(buf)]);
  check(cudaMemcpy(s.ptr(buf), bytes, n, cudaMemcpyHostToDevice), "cudaMemcpy (write buffer)");
}

void PlanRunner::read(int32_t buf, void* bytes, size_t n) const {
  const Impl& s = *impl_;
  s.check_buf(buf, "PlanRunner::read");
  if (n != s.buf_bytes[size_t(buf)])
    fail("read of buffer '{}': {} bytes asked, the buffer has {}", s.plan.buffers[size_t(buf)].name, n,
         s.buf_bytes[size_t(buf)]);
  check(cudaMemcpy(bytes, s.ptr(buf), n, cudaMemcpyDeviceToHost), "cudaMemcpy (read buffer)");
}

std::vector<uint8_t> PlanRunner::read_with_guards(int32_t buf) const {
  const Impl& s = *impl_;
  s.check_buf(buf, "PlanRunner::read_with_guards");
  std::vector<uint8_t> v(s.bufs[size_t(buf)].n);
  check(cudaMemcpy(v.data(), s.bufs[size_t(buf)].p, v.size(), cudaMemcpyDeviceToHost), "cudaMemcpy (read guards)");
  return v;
}

void PlanRunner::write_with_guards(int32_t buf, const std::vector<uint8_t>& bytes) {
  Impl& s = *impl_;
  s.check_buf(buf, "PlanRunner::write_with_guards");
  if (bytes.size() != s.bufs[size_t(buf)].n)
    fail("write_with_guards to buffer '{}': {} bytes given, expected {}", s.plan.buffers[size_t(buf)].name,
         bytes.size(), s.bufs[size_t(buf)].n);
  check(cudaMemcpy(s.bufs[size_t(buf)].p, bytes.data(), bytes.size(), cudaMemcpyHostToDevice),
        "cudaMemcpy (write guards)");
}

void PlanRunner::check_usable() const {
  const Impl& s = *impl_;
  s.latch.check("CUDA backend");
}

void PlanRunner::enqueue(int64_t pos, void* stream) {
  Impl& s = *impl_;
  check_usable();
  if (pos < 0 || pos >= s.plan.context)
    fail("position {} is outside the plan's context [0, {})", pos, s.plan.context);
  KernelArgs a{};
  a.tasks = static_cast<const DevTask*>(s.tasks.p);
  a.queue_offsets = static_cast<const int32_t*>(s.queue_offsets.p);
  a.queue_tasks = static_cast<const int32_t*>(s.queue_tasks.p);
  a.waits = static_cast<const DevWait*>(s.waits.p);
  a.signals = static_cast<const DevSignal*>(s.signals.p);
  a.buffers = static_cast<const DevBuffer*>(s.dev_buffers.p);
  a.counters = static_cast<unsigned long long*>(s.counters.p);
  a.per_step = static_cast<const int64_t*>(s.per_step.p);
  a.watchdog = static_cast<WatchdogReport*>(s.watchdog.p);
  a.step = s.steps;
  a.pos = pos;
  a.timeout_ns = int64_t(s.opt.watchdog_seconds * 1e9);
  a.ring_offset = s.ring_offset;
  a.ring_bytes = s.ring_used;
  a.ring_slot_bytes = int32_t(s.ring_slot_bytes);
  a.rows_per_warp = s.opt.rows_per_warp;
  a.poll_ns = s.opt.poll_ns;
  a.buffer_count = int32_t(s.plan.buffers.size());
  a.desc_offset = s.desc_offset;
  a.blocks = s.blocks;
  a.l2_prefetch_bytes = s.opt.l2_prefetch_bytes;
  a.l2_prefetch_kv_bytes = s.opt.l2_prefetch_kv_bytes;
  a.l2_prefetch_ahead = s.opt.l2_prefetch_ahead;
  a.signal_fence = s.opt.signal_fence;
  a.trace = static_cast<unsigned long long*>(s.trace.p);
  if (a.trace) ++s.traced_steps;
  s.latch.run([&] {
    check(megakernel_launch(a, s.threads, s.smem, stream ? stream : s.stream),
          "cudaLaunchCooperativeKernel (megakernel)");
  });
  // Counted at launch: launches on one stream run in order, and step t's thresholds assume
  // t launches before it (counters are never reset).
  ++s.steps;
}

void PlanRunner::check_after_sync() {
  Impl& s = *impl_;
  check_usable();
  s.latch.run([&] {
    check(cudaGetLastError(), "megakernel execution");
    WatchdogReport r{};
    check(cudaMemcpy(&r, s.watchdog.p, sizeof r, cudaMemcpyDeviceToHost), "cudaMemcpy (watchdog report)");
    if (r.abort) fail("{}", watchdog_message(s.plan, r));
  });
}

void PlanRunner::step(int64_t pos) {
  Impl& s = *impl_;
  enqueue(pos, s.stream);
  s.latch.run([&] { check(cudaStreamSynchronize(s.stream), "megakernel execution"); });
  check_after_sync();
}

void PlanRunner::set_ring_bytes(int64_t bytes) {
  if (bytes < 0 || bytes > impl_->ring_bytes)
    fail("set_ring_bytes({}): expected 0..{} (the ring allocated for this plan)", bytes, impl_->ring_bytes);
  impl_->ring_used = bytes;
}

int64_t PlanRunner::ring_bytes() const { return impl_->ring_used; }

void PlanRunner::set_rows_per_warp(int rows) {
  impl_->opt.rows_per_warp = checked_rows_per_warp(rows, "set_rows_per_warp");
}

void PlanRunner::set_trace(bool on) {
  Impl& s = *impl_;
  if (!on) {
    s.trace = DeviceMem();
    s.traced_steps = 0;
    return;
  }
  if (s.trace.p) return;
  size_t entries = 0;
  for (const auto& q : s.plan.queues) entries += q.size();
  s.trace.alloc(entries * kTraceStamps * sizeof(unsigned long long), "cudaMalloc (task trace)");
  check(cudaMemset(s.trace.p, 0, s.trace.n), "cudaMemset (task trace)");
}

std::vector<PlanRunner::TaskTiming> PlanRunner::last_trace() const {
  const Impl& s = *impl_;
  if (!s.trace.p) fail("last_trace: tracing is off (call set_trace(true) before the step)");
  if (s.traced_steps == 0) fail("last_trace: no step has run since tracing was turned on");
  check_usable();
  std::vector<unsigned long long> raw(s.trace.n / sizeof(unsigned long long));
  check(cudaStreamSynchronize(s.stream), "cudaStreamSynchronize (task trace)");
  check(cudaMemcpy(raw.data(), s.trace.p, s.trace.n, cudaMemcpyDeviceToHost), "cudaMemcpy (task trace)");
  std::vector<TaskTiming> out;
  out.reserve(raw.size() / kTraceStamps);
  const unsigned long long* r = raw.data();
  for (size_t b = 0; b < s.plan.queues.size(); ++b)
    for (int32_t task : s.plan.queues[b]) {
      out.push_back({task, int32_t(b), int64_t(r[0]), int64_t(r[1]), int64_t(r[4]), int64_t(r[2 + kTraceInput]),
                     int64_t(r[2 + kTraceBody])});
      r += kTraceStamps;
    }
  return out;
}

int64_t PlanRunner::steps() const { return impl_->steps; }
int64_t PlanRunner::smem_bytes() const { return impl_->smem; }
int PlanRunner::blocks() const { return impl_->blocks; }
int PlanRunner::threads() const { return impl_->threads; }
int PlanRunner::rows_per_warp() const { return impl_->opt.rows_per_warp; }
std::string PlanRunner::device_name() const { return impl_->prop.name; }
const Plan& PlanRunner::plan() const { return impl_->plan; }

// ---- CudaEngine ----

namespace {

// Converts a model tensor to the buffer's dtype and uploads it: f32 as stored, bf16 through
// tensor_to_bf16 (the conversion the ops baseline shares).
void upload_weight(PlanRunner& r, const Buffer& b, const Tensor& t, const std::string& where) {
  if (t.shape != b.shape)
    fail("{}: weight '{}' has shape {} in the model, the plan's buffer '{}' expects [{}]", where, b.weight,
         t.shape_str(), b.name, fmt::join(b.shape, ", "));
  const int64_t n = t.numel();
  if (b.dtype == BufDType::I32) fail("{}: weight buffer '{}' has dtype i32", where, b.name);
  if (b.dtype == BufDType::F32) {
    std::vector<float> host(static_cast<size_t>(n));
    t.to_f32(0, n, host.data());
    r.write(b.id, host.data(), host.size() * 4);
  } else {
    std::vector<uint16_t> host(static_cast<size_t>(n));
    tensor_to_bf16(t, host.data());
    r.write(b.id, host.data(), host.size() * 2);
  }
}

}  // namespace

CudaEngine::CudaEngine(const Plan& plan, const Model& model, const CudaOptions& options)
    : model_(model), runner_(std::make_unique<PlanRunner>(plan, options)) {
  const std::string where = fmt::format("plan '{}' with model '{}'", plan.model, model.source);
  auto buffer_ok = [&](int32_t id, BufferKind kind, BufDType dtype, int64_t numel, const char* what) {
    if (id < 0 || size_t(id) >= plan.buffers.size())
      fail("{}: the plan has no {} buffer (id {})", where, what, id);
    const Buffer& b = plan.buffers[size_t(id)];
    int64_t n = 1;
    for (int64_t d : b.shape) n *= d;
    if (b.kind != kind || b.dtype != dtype || n != numel)
      fail("{}: {} buffer '{}' is {} {} of {} elements, expected {} {} of {}", where, what, b.name,
           buffer_kind_name(b.kind), buf_dtype_name(b.dtype), n, buffer_kind_name(kind),
           buf_dtype_name(dtype), numel);
  };
  buffer_ok(plan.token_input, BufferKind::Input, BufDType::I32, 1, "token input");
  buffer_ok(plan.token_output, BufferKind::Output, BufDType::I32, 1, "token output");
  for (int32_t id : plan.outputs)
    if (id >= 0 && size_t(id) < plan.buffers.size() && plan.buffers[size_t(id)].name == "logits") logits_buf_ = id;
  buffer_ok(logits_buf_, BufferKind::Output, BufDType::F32, model.config.vocab_size, "logits");

  for (const Buffer& b : plan.buffers) {
    if (b.kind == BufferKind::Weight) {
      const Tensor* t = nullptr;
      if (model.has(b.weight)) t = &model.weight(b.weight);
      else if (b.weight == "lm_head.weight" && model.config.tie_word_embeddings) t = &model.lm_head();
      else fail("{}: the plan reads weight '{}' (buffer '{}'), which the model does not have", where, b.weight, b.name);
      upload_weight(*runner_, b, *t, where);
    } else if (b.kind == BufferKind::Constant) {
      std::vector<float> v = constant_values(plan, b.id, model.config);
      if (b.dtype != BufDType::F32 || v.size() * 4 != runner_->bytes(b.id))
        fail("{}: constant '{}' has {} values for a {} buffer of {} bytes", where, b.name, v.size(),
             buf_dtype_name(b.dtype), runner_->bytes(b.id));
      runner_->write(b.id, v.data(), v.size() * 4);
    }
  }
  logits_.resize(size_t(model.config.vocab_size));
}

CudaEngine::~CudaEngine() = default;

int CudaEngine::capacity() const { return runner_->plan().context; }

const std::vector<float>& CudaEngine::forward(int token, int pos) {
  const ModelConfig& c = model_.config;
  runner_->check_usable();  // before the position check: a failed step leaves pos_ behind
  if (token < 0 || token >= c.vocab_size)
    fail("token id {} is outside the vocabulary of {} tokens", token, c.vocab_size);
  if (pos != pos_) fail("position {} is out of order: the engine expects position {} next", pos, pos_);
  if (pos >= capacity()) fail("position {} exceeds the context of {} tokens", pos, capacity());
  const Plan& plan = runner_->plan();
  const int32_t tok = token;
  runner_->write(plan.token_input, &tok, 4);
  runner_->step(pos);
  runner_->read(logits_buf_, logits_.data(), logits_.size() * 4);
  int32_t next = -1;
  runner_->read(plan.token_output, &next, 4);
  next_token_ = next;
  ++pos_;
  return logits_;
}

}  // namespace tessera

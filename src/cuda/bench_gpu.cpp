// Host code only (CUDA runtime API and cuBLAS); every call is checked and names itself on
// failure. Resources live in small RAII holders so an error thrown mid-measurement (a step
// tripping the watchdog, an allocation failing) frees the GPU memory it took.
// NVML is reached with dlopen: it ships with the driver, not the toolkit, and linking it
// would stop the binary from starting where no driver is installed (CI). Its few entry
// points are declared here from the NVML API reference (the toolkit has no nvml.h).
#include "cuda/bench_gpu.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "bench/floor.h"
#include "core/error.h"

namespace tessera {

namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail("CUDA: {} failed: {} ({})", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

void check_blas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) fail("cuBLAS: {} failed: {}", what, cublasGetStatusString(s));
}

struct DeviceBuffer {
  void* p = nullptr;
  size_t n = 0;
  DeviceBuffer(size_t bytes, const char* what) : n(bytes) { check(cudaMalloc(&p, bytes), what); }
  ~DeviceBuffer() { if (p) cudaFree(p); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

struct Stream {
  cudaStream_t s = nullptr;
  Stream() { check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreateWithFlags"); }
  ~Stream() { if (s) cudaStreamDestroy(s); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
};

// Start and stop events of n repetitions.
struct EventPairs {
  std::vector<cudaEvent_t> start, stop;
  explicit EventPairs(size_t n) {
    start.reserve(n);
    stop.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      cudaEvent_t a = nullptr, b = nullptr;
      check(cudaEventCreate(&a), "cudaEventCreate");
      start.push_back(a);
      check(cudaEventCreate(&b), "cudaEventCreate");
      stop.push_back(b);
    }
  }
  ~EventPairs() {
    for (cudaEvent_t e : start) cudaEventDestroy(e);
    for (cudaEvent_t e : stop) cudaEventDestroy(e);
  }
  EventPairs(const EventPairs&) = delete;
  EventPairs& operator=(const EventPairs&) = delete;
  double seconds(size_t i) const {
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start[i], stop[i]), "cudaEventElapsedTime");
    return double(ms) * 1e-3;
  }
};

struct Blas {
  cublasHandle_t h = nullptr;
  Blas() { check_blas(cublasCreate(&h), "cublasCreate"); }
  ~Blas() { if (h) cublasDestroy(h); }
  Blas(const Blas&) = delete;
  Blas& operator=(const Blas&) = delete;
};

size_t free_device_bytes() {
  size_t free = 0, total = 0;
  check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  return free;
}

// ---- NVML through dlopen ----
using nvmlReturn = int;  // nvmlReturn_t; 0 is NVML_SUCCESS
using nvmlDevice = struct nvmlDevice_st*;
constexpr int kNvmlClockSM = 1, kNvmlClockMem = 2;  // nvmlClockType_t

struct Nvml {
  void* lib = nullptr;
  nvmlReturn (*init)() = nullptr;
  nvmlReturn (*shutdown)() = nullptr;
  nvmlReturn (*by_pci)(const char*, nvmlDevice*) = nullptr;
  nvmlReturn (*clock)(nvmlDevice, int, unsigned*) = nullptr;
  nvmlReturn (*max_clock)(nvmlDevice, int, unsigned*) = nullptr;
  nvmlReturn (*driver)(char*, unsigned) = nullptr;
  bool initialised = false;
  std::string why;  // when unusable

  Nvml() {
    lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      why = "libnvidia-ml.so.1 not found";
      return;
    }
    init = reinterpret_cast<decltype(init)>(dlsym(lib, "nvmlInit_v2"));
    shutdown = reinterpret_cast<decltype(shutdown)>(dlsym(lib, "nvmlShutdown"));
    by_pci = reinterpret_cast<decltype(by_pci)>(dlsym(lib, "nvmlDeviceGetHandleByPciBusId_v2"));
    clock = reinterpret_cast<decltype(clock)>(dlsym(lib, "nvmlDeviceGetClockInfo"));
    max_clock = reinterpret_cast<decltype(max_clock)>(dlsym(lib, "nvmlDeviceGetMaxClockInfo"));
    driver = reinterpret_cast<decltype(driver)>(dlsym(lib, "nvmlSystemGetDriverVersion"));
    if (!init || !shutdown || !by_pci || !clock || !max_clock || !driver) {
      why = "libnvidia-ml.so.1 lacks an entry point bench uses";
      return;
    }
    if (const nvmlReturn r = init(); r != 0) {
      why = fmt::format("nvmlInit_v2 returned {}", r);
      return;
    }
    initialised = true;
  }
  ~Nvml() {
    if (initialised) shutdown();
    if (lib) dlclose(lib);
  }
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;
};

}  // namespace

GpuInfo read_gpu_info(int device) {
  GpuInfo g;
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  g.name = prop.name;
  int runtime = 0, driver_api = 0;
  check(cudaRuntimeGetVersion(&runtime), "cudaRuntimeGetVersion");
  check(cudaDriverGetVersion(&driver_api), "cudaDriverGetVersion");
  g.runtime_version = fmt::format("{}.{}", runtime / 1000, runtime % 1000 / 10);
  g.driver_version = fmt::format("CUDA {}.{}", driver_api / 1000, driver_api % 1000 / 10);

  Nvml nvml;
  char pci[32] = {};
  check(cudaDeviceGetPCIBusId(pci, sizeof pci, device), "cudaDeviceGetPCIBusId");
  nvmlDevice dev = nullptr;
  if (nvml.initialised && nvml.by_pci(pci, &dev) != 0) nvml.why = fmt::format("NVML has no device at PCI {}", pci);
  if (nvml.initialised && dev) {
    unsigned sm = 0, sm_max = 0, mem = 0, mem_max = 0;
    // A clock NVML cannot read stays 0: the record then shows it as unknown.
    nvml.clock(dev, kNvmlClockSM, &sm);
    nvml.max_clock(dev, kNvmlClockSM, &sm_max);
    nvml.clock(dev, kNvmlClockMem, &mem);
    nvml.max_clock(dev, kNvmlClockMem, &mem_max);
    g.sm_clock_mhz = int(sm);
    g.sm_clock_max_mhz = int(sm_max);
    g.mem_clock_mhz = int(mem);
    g.mem_clock_max_mhz = int(mem_max);
    char version[96] = {};
    if (nvml.driver(version, sizeof version) == 0) g.driver_version = fmt::format("{} ({})", version, g.driver_version);
    g.clock_source = "nvml";
  } else {
    int sm_khz = 0, mem_khz = 0;
    check(cudaDeviceGetAttribute(&sm_khz, cudaDevAttrClockRate, device), "cudaDeviceGetAttribute(ClockRate)");
    check(cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, device),
          "cudaDeviceGetAttribute(MemoryClockRate)");
    g.sm_clock_max_mhz = sm_khz / 1000;
    g.mem_clock_max_mhz = mem_khz / 1000;
    g.clock_source = fmt::format("cudaDeviceGetAttribute, peak clocks only ({})", nvml.why);
  }
  return g;
}

int64_t cuda_l2_bytes(int device) {
  int l2 = 0;
  check(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device), "cudaDeviceGetAttribute(L2CacheSize)");
  return l2;
}

std::string cuda_device_arch(int device) {
  int major = 0, minor = 0;
  check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute(ComputeCapabilityMajor)");
  check(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), "cudaDeviceGetAttribute(ComputeCapabilityMinor)");
  const int cc = major * 10 + minor;
  switch (cc) {
    case 80: return "sm_80";
    case 86: return "sm_86";
    case 89: return "sm_89";
    case 90: return "sm_90a";
    case 100: return "sm_100a";
    default: break;
  }
  if (major == 12) return "sm_120";
  fail("compute capability {}.{} has no lowering preset (sm_80, sm_86, sm_89, sm_90a, sm_100a, sm_120); "
       "pass --plan with a plan lowered for this GPU", major, minor);
}

double measure_copy_bandwidth(size_t bytes, int reps, std::string* method) {
  if (reps < 1) fail("copy bandwidth: reps {} must be at least 1", reps);
  bytes = std::min(bytes, free_device_bytes() / 4) / 4096 * 4096;
  if (bytes < (size_t(64) << 20))
    fail("copy bandwidth: only {} MiB of device memory is free; the measurement needs 256 MiB",
         free_device_bytes() >> 20);
  DeviceBuffer src(bytes, "cudaMalloc (copy source)"), dst(bytes, "cudaMalloc (copy destination)");
  check(cudaMemset(src.p, 0x5a, bytes), "cudaMemset (copy source)");
  Stream stream;
  EventPairs ev{size_t(reps)};
  check(cudaMemcpyAsync(dst.p, src.p, bytes, cudaMemcpyDeviceToDevice, stream.s), "cudaMemcpyAsync (warm-up)");
  for (int i = 0; i < reps; ++i) {
    check(cudaEventRecord(ev.start[size_t(i)], stream.s), "cudaEventRecord");
    check(cudaMemcpyAsync(dst.p, src.p, bytes, cudaMemcpyDeviceToDevice, stream.s), "cudaMemcpyAsync");
    check(cudaEventRecord(ev.stop[size_t(i)], stream.s), "cudaEventRecord");
  }
  check(cudaStreamSynchronize(stream.s), "cudaStreamSynchronize (copy bandwidth)");
  double best = INFINITY;
  for (int i = 0; i < reps; ++i) best = std::min(best, ev.seconds(size_t(i)));
  if (!(best > 0)) fail("copy bandwidth: events measured {} s for {} bytes", best, bytes);
  if (method)
    *method = fmt::format("cudaMemcpyAsync device-to-device, {} MiB, best of {}, bytes read + written", bytes >> 20, reps);
  return 2.0 * double(bytes) / best;
}

double measure_matmul_rate(int n, int reps, std::string* method) {
  if (reps < 1) fail("matmul rate: reps {} must be at least 1", reps);
  if (n < 256) fail("matmul rate: n {} must be at least 256", n);
  while (n >= 2048 && 3 * size_t(n) * size_t(n) * 2 > free_device_bytes() / 2) n /= 2;
  const size_t bytes = size_t(n) * size_t(n) * 2;
  DeviceBuffer a(bytes, "cudaMalloc (matmul A)"), b(bytes, "cudaMalloc (matmul B)"), c(bytes, "cudaMalloc (matmul C)");
  // Zero inputs: the tensor cores draw the least power on them, so the rate is the highest
  // the GPU reaches, which keeps the floor a lower bound.
  check(cudaMemset(a.p, 0, bytes), "cudaMemset (matmul A)");
  check(cudaMemset(b.p, 0, bytes), "cudaMemset (matmul B)");
  Stream stream;
  Blas blas;
  check_blas(cublasSetStream(blas.h, stream.s), "cublasSetStream");
  const float alpha = 1.f, beta = 0.f;
  auto gemm = [&] {
    check_blas(cublasGemmEx(blas.h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a.p, CUDA_R_16BF, n, b.p,
                            CUDA_R_16BF, n, &beta, c.p, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
               "cublasGemmEx (bf16, fp32 compute)");
  };
  gemm();
  gemm();
  EventPairs ev{size_t(reps)};
  for (int i = 0; i < reps; ++i) {
    check(cudaEventRecord(ev.start[size_t(i)], stream.s), "cudaEventRecord");
    gemm();
    check(cudaEventRecord(ev.stop[size_t(i)], stream.s), "cudaEventRecord");
  }
  check(cudaStreamSynchronize(stream.s), "cudaStreamSynchronize (matmul rate)");
  double best = INFINITY;
  for (int i = 0; i < reps; ++i) best = std::min(best, ev.seconds(size_t(i)));
  if (!(best > 0)) fail("matmul rate: events measured {} s for an {}^3 product", best, n);
  if (method) *method = fmt::format("cublasGemmEx {0}x{0}x{0}, bf16 in/out, fp32 compute, best of {1}", n, reps);
  return 2.0 * double(n) * double(n) * double(n) / best;
}

Ceilings measure_ceilings() {
  Ceilings c;
  c.copy_gbps = measure_copy_bandwidth(size_t(1) << 30, 10, &c.copy_method) * 1e-9;
  c.matmul_tflops = measure_matmul_rate(8192, 10, &c.matmul_method) * 1e-12;
  return c;
}

namespace {

// Runs `enqueue_rep(i, stream)` for `reps` repetitions, each between its events, with an
// L2 flush before each start event when `flush` holds memory.
template <class Enqueue>
std::vector<double> timed_reps(int reps, const DeviceBuffer* flush, cudaStream_t s, Enqueue enqueue_rep) {
  EventPairs ev{size_t(reps)};
  for (int i = 0; i < reps; ++i) {
    // A different byte each time, so no layer of the memory system can treat it as a no-op.
    if (flush) check(cudaMemsetAsync(flush->p, i & 0xff, flush->n, s), "cudaMemsetAsync (L2 flush)");
    check(cudaEventRecord(ev.start[size_t(i)], s), "cudaEventRecord");
    enqueue_rep(i, s);
    check(cudaEventRecord(ev.stop[size_t(i)], s), "cudaEventRecord");
  }
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize (timed steps)");
  std::vector<double> out;
  for (int i = 0; i < reps; ++i) out.push_back(ev.seconds(size_t(i)));
  return out;
}

void check_options(const TimingOptions& o) {
  if (o.steps < 1) fail("bench: --steps {} must be at least 1", o.steps);
  if (o.warmup < 0) fail("bench: --warmup {} must not be negative", o.warmup);
}

// The step's own check after a synchronised stream, with a failed sync reported first.
void sync_and_check(cudaStream_t s, TimedStep& step) {
  const cudaError_t e = cudaStreamSynchronize(s);
  step.check_after_sync();  // names the watchdog's report or the step's error when it has one
  check(e, "cudaStreamSynchronize (warm-up)");
}

}  // namespace

Timing time_step(TimedStep& step, int64_t pos, const TimingOptions& o) {
  check_options(o);
  if (pos < 0 || pos >= step.context())
    fail("bench: position {} is outside {}'s context [0, {})", pos, step.name(), step.context());
  Stream stream;
  for (int i = 0; i < o.warmup; ++i) step.enqueue(pos, stream.s);
  sync_and_check(stream.s, step);
  Timing t;
  t.l2_flushed = l2_could_hold(o.working_set_bytes, cuda_l2_bytes());
  std::unique_ptr<DeviceBuffer> flush;
  if (t.l2_flushed) flush = std::make_unique<DeviceBuffer>(size_t(2 * cuda_l2_bytes()), "cudaMalloc (L2 flush buffer)");
  try {
    t.seconds = timed_reps(o.steps, flush.get(), stream.s, [&](int, cudaStream_t s) { step.enqueue(pos, s); });
  } catch (const Error&) {
    step.check_after_sync();  // a step's own failure explains a failed sync better
    throw;
  }
  step.check_after_sync();
  return t;
}

Comparison compare(TimedStep& a, TimedStep& b, int64_t pos, const TimingOptions& o) {
  check_options(o);
  for (TimedStep* s : {&a, &b})
    if (pos < 0 || pos >= s->context())
      fail("bench: position {} is outside {}'s context [0, {})", pos, s->name(), s->context());
  Stream stream;
  for (int i = 0; i < o.warmup; ++i) {
    a.enqueue(pos, stream.s);
    b.enqueue(pos, stream.s);
  }
  sync_and_check(stream.s, a);
  b.check_after_sync();
  const bool flushed = l2_could_hold(o.working_set_bytes, cuda_l2_bytes());
  std::unique_ptr<DeviceBuffer> flush;
  if (flushed) flush = std::make_unique<DeviceBuffer>(size_t(2 * cuda_l2_bytes()), "cudaMalloc (L2 flush buffer)");
  // Repetition 2i is A's i-th, 2i+1 B's.
  const std::vector<double> all = timed_reps(2 * o.steps, flush.get(), stream.s, [&](int i, cudaStream_t s) {
    (i % 2 == 0 ? a : b).enqueue(pos, s);
  });
  a.check_after_sync();
  b.check_after_sync();
  Comparison c;
  c.a.l2_flushed = c.b.l2_flushed = flushed;
  for (int i = 0; i < o.steps; ++i) {
    c.a.seconds.push_back(all[size_t(2 * i)]);
    c.b.seconds.push_back(all[size_t(2 * i + 1)]);
    c.ratios.push_back(all[size_t(2 * i)] / all[size_t(2 * i + 1)]);
  }
  return c;
}

}  // namespace tessera

// The GPU half of `tessera bench`: what the device is (read, never changed), the ceilings
// its floor is computed from (measured in the same run, so a throttled or shared GPU moves
// the floor with the step), and the timing loops. All times are CUDA events on one stream
// with every repetition enqueued before the host waits, so the host's launch overhead hides
// behind the GPU's work exactly as in a real decode loop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/record.h"
#include "cuda/timed_step.h"

namespace tessera {

// Name, driver and runtime versions, and SM / memory clocks as NVML reads them now and at
// most (NVML is opened at run time; without it only the peak clocks CUDA reports are
// filled in, and clock_source says so).
GpuInfo read_gpu_info(int device = 0);
int64_t cuda_l2_bytes(int device = 0);
// The lowering preset for the device's compute capability ("sm_90a" for 9.0); throws
// tessera::Error naming the capability when no preset matches.
std::string cuda_device_arch(int device = 0);

// Device-to-device cudaMemcpyAsync of `bytes` (capped at a quarter of the free memory),
// `reps` times after one warm-up; the best repetition, as bytes read + written per second.
// The best, not the median: the floor must be a lower bound, so its ceiling an upper one.
double measure_copy_bandwidth(size_t bytes, int reps, std::string* method);
// cublasGemmEx, n x n x n, bf16 inputs and output, fp32 compute; the best repetition in
// FLOP/s (2 n^3 per product). n halves while the three matrices do not fit.
double measure_matmul_rate(int n, int reps, std::string* method);
// Both with bench's sizes: 1 GiB copies and 8192^3 products, best of 10.
Ceilings measure_ceilings();

struct TimingOptions {
  int warmup = 10;
  int steps = 100;
  // Bytes one step must move (floor.h); decides whether L2 is flushed between repetitions.
  int64_t working_set_bytes = 0;
};

struct Timing {
  std::vector<double> seconds;  // one per repetition
  bool l2_flushed = false;
};

// Warm-up steps, then `steps` repetitions of step.enqueue(pos), each between two events
// (L2 flushed before the start event when l2_could_hold(working set)). Checks the step
// after synchronising (tessera::Error on a failed launch or the watchdog).
Timing time_step(TimedStep& step, int64_t pos, const TimingOptions& options);

struct Comparison {
  Timing a, b;
  std::vector<double> ratios;  // a / b per pair
};

// A and B interleaved, A B A B ..., so drift in clocks or temperature hits both alike; the
// ratio is taken per pair.
Comparison compare(TimedStep& a, TimedStep& b, int64_t pos, const TimingOptions& options);

}  // namespace tessera

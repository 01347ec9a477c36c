// Timeline of an emulated run in Chrome trace JSON ("traceEvents"), which chrome://tracing
// and Perfetto open: one track (tid) per block, one complete event (ph "X") per task with
// its step, position and how long the block waited for it. Times are wall-clock
// microseconds since the recorder was created, measured on the emulator's worker threads,
// so they show the CPU emulation's timing (useful for order and waiting, not GPU speed).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "plan/plan.h"

namespace tessera {

class TraceRecorder {
 public:
  explicit TraceRecorder(const Plan& plan);

  double now_us() const;
  // Records one task; wait_us: from the moment its block became free (previous task
  // finished, or the step began) until it started.
  void add(int32_t task, int64_t step, int64_t pos, double start_us, double end_us, double wait_us);
  std::string to_json() const;
  // Throws tessera::Error naming the path when it cannot be written.
  void write(const std::string& path) const;

 private:
  struct Event {
    int32_t task;
    int64_t step, pos;
    double start, end, wait;
  };
  const Plan& plan_;
  std::chrono::steady_clock::time_point origin_;
  std::vector<Event> events_;
};

}  // namespace tessera

// Timeline of a plan's run in Chrome trace JSON ("traceEvents"), which chrome://tracing
// and Perfetto open: one track (tid) per block, one complete event (ph "X") per task with
// its step, position and how long the block waited for it. The emulator records wall-clock
// microseconds of its worker threads (order and waiting, not GPU speed); the CUDA runtime's
// trace (PlanRunner::last_trace) is converted into the same events by whoever reads it,
// with the recorder's labels saying which clock the times come from.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "plan/plan.h"

namespace tessera {

class TraceRecorder {
 public:
  struct Event {
    int32_t task;
    int64_t step, pos;
    double start, end, wait;  // microseconds
    // Where the instruction marks them (the GPU's trace: PlanRunner::TaskTiming), when its
    // input was ready and its body done, microseconds after start; -1: not marked.
    double input = -1, body = -1;
  };

  explicit TraceRecorder(const Plan& plan, std::string process = "tessera emulator",
                         std::string clock = "wall-clock microseconds of the CPU emulation");

  double now_us() const;
  // Records one task; wait_us: from the moment its block became free (previous task
  // finished, or the step began) until it started.
  void add(int32_t task, int64_t step, int64_t pos, double start_us, double end_us, double wait_us,
           double input_us = -1, double body_us = -1);
  std::string to_json() const;
  const std::vector<Event>& events() const { return events_; }
  // Throws tessera::Error naming the path when it cannot be written.
  void write(const std::string& path) const;

 private:
  const Plan& plan_;
  std::string process_, clock_;
  std::chrono::steady_clock::time_point origin_;
  std::vector<Event> events_;
};

}  // namespace tessera

#include "cuda/step_trace.h"

#include <algorithm>

namespace tessera {

StepTimeline trace_one_step(PlanRunner& runner, int64_t pos, const std::string& path) {
  runner.set_trace(true);
  std::vector<PlanRunner::TaskTiming> timings;
  try {
    runner.step(pos);
    timings = runner.last_trace();
  } catch (...) {
    runner.set_trace(false);
    throw;
  }
  runner.set_trace(false);
  const Plan& plan = runner.plan();
  int64_t origin = INT64_MAX;
  for (const auto& t : timings) origin = std::min(origin, t.turned_ns);
  TraceRecorder rec(plan, "tessera megakernel on " + runner.device_name(),
                    "GPU %globaltimer microseconds since the first block turned to its first task");
  for (const auto& t : timings) {
    auto us = [&](int64_t ns) { return double(ns - origin) * 1e-3; };
    // A phase mark counts only inside the task's own run (ready .. done).
    auto phase = [&](int64_t ns) { return ns >= t.ready_ns && ns <= t.done_ns ? double(ns - t.ready_ns) * 1e-3 : -1.0; };
    rec.add(t.task, runner.steps() - 1, pos, us(t.ready_ns), us(t.done_ns), us(t.ready_ns) - us(t.turned_ns),
            t.input_ns != 0 ? phase(t.input_ns) : -1.0, t.body_ns != 0 ? phase(t.body_ns) : -1.0);
  }
  if (!path.empty()) rec.write(path);
  return summarize_step(plan, rec.events());
}

}  // namespace tessera

#include "emulate/trace_summary.h"

#include <algorithm>
#include <map>
#include <regex>

#include <fmt/format.h>

#include "core/error.h"

namespace tessera {
namespace {

std::string stage_of(const Plan& plan, const Task& t) {
  std::string where;
  if (!t.signals.empty()) {
    const int32_t c = t.signals.front().counter;
    if (c >= 0 && size_t(c) < plan.counters.size()) where = plan.counters[size_t(c)].name;
  } else if (!t.writes.empty()) {
    const int32_t b = t.writes.front().buf;
    if (b >= 0 && size_t(b) < plan.buffers.size()) where = plan.buffers[size_t(b)].name;
  }
  static const std::regex group_suffix(R"(\.g[0-9]+$)");
  return op_name(t.op) + ":" + std::regex_replace(where, group_suffix, "");
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

}  // namespace

StepTimeline summarize_step(const Plan& plan, const std::vector<TraceRecorder::Event>& events) {
  StepTimeline out;
  if (events.empty()) return out;
  struct Acc {
    std::vector<double> runs, inputs, bodies, tails;
    double start = 1e300, end = -1e300;
  };
  std::map<std::string, Acc> stages;
  double t0 = 1e300, t1 = -1e300, run = 0, wait = 0;
  for (const auto& e : events) {
    if (e.task < 0 || size_t(e.task) >= plan.tasks.size())
      fail("trace: event names task {}, the plan has {}", e.task, plan.tasks.size());
    Acc& a = stages[stage_of(plan, plan.tasks[size_t(e.task)])];
    const double run_us = e.end - e.start;
    a.runs.push_back(run_us);
    if (e.input >= 0) {
      a.inputs.push_back(e.input);
      a.bodies.push_back((e.body >= e.input ? e.body : run_us) - e.input);
    }
    if (e.body >= 0) a.tails.push_back(run_us - e.body);
    a.start = std::min(a.start, e.start);
    a.end = std::max(a.end, e.end);
    t0 = std::min(t0, e.start - e.wait);
    t1 = std::max(t1, e.end);
    run += e.end - e.start;
    wait += e.wait;
  }
  out.span_us = t1 - t0;
  const double capacity = out.span_us * double(std::max<size_t>(plan.queues.size(), 1));
  if (capacity > 0) {
    out.busy = run / capacity;
    out.waiting = wait / capacity;
  }
  for (auto& [name, a] : stages) {
    StageTime s;
    s.name = name;
    s.tasks = int(a.runs.size());
    s.start_us = a.start - t0;
    s.end_us = a.end - t0;
    s.max_run_us = *std::max_element(a.runs.begin(), a.runs.end());
    s.median_run_us = median(std::move(a.runs));
    auto median_or_none = [](std::vector<double> v) { return v.empty() ? -1.0 : median(std::move(v)); };
    s.median_input_us = median_or_none(std::move(a.inputs));
    s.median_body_us = median_or_none(std::move(a.bodies));
    s.median_tail_us = median_or_none(std::move(a.tails));
    out.stages.push_back(std::move(s));
  }
  std::sort(out.stages.begin(), out.stages.end(),
            [](const StageTime& a, const StageTime& b) { return a.start_us < b.start_us; });
  for (size_t i = 1; i < out.stages.size(); ++i) out.stages[i].gap_us = out.stages[i].start_us - out.stages[i - 1].end_us;
  return out;
}

std::string StepTimeline::to_text() const {
  std::string s = fmt::format("step {:.1f} us; blocks busy {:.0f}%, waiting {:.0f}%, idle {:.0f}%\n", span_us,
                              100 * busy, 100 * waiting, 100 * std::max(0.0, 1 - busy - waiting));
  bool phases = false;
  for (const StageTime& t : stages) phases = phases || t.median_input_us >= 0;
  s += fmt::format("{:<28} {:>5} {:>9} {:>9} {:>9} {:>10} {:>9} {:>8}", "stage", "tasks", "start us", "end us",
                   "span us", "median us", "max us", "gap us");
  if (phases) s += fmt::format(" {:>8} {:>8} {:>8}", "input", "body", "tail");
  s += "\n";
  auto cell = [](double v) { return v < 0 ? fmt::format(" {:>8}", "-") : fmt::format(" {:>8.1f}", v); };
  double gaps = 0, spans = 0;
  for (const StageTime& t : stages) {
    s += fmt::format("{:<28} {:>5} {:>9.1f} {:>9.1f} {:>9.1f} {:>10.1f} {:>9.1f} {:>8.1f}", t.name, t.tasks,
                     t.start_us, t.end_us, t.end_us - t.start_us, t.median_run_us, t.max_run_us, t.gap_us);
    if (phases) s += cell(t.median_input_us) + cell(t.median_body_us) + cell(t.median_tail_us);
    s += "\n";
    gaps += std::max(0.0, t.gap_us);
    spans += t.end_us - t.start_us;
  }
  s += fmt::format("{} stages: {:.1f} us inside stages (summed spans), {:.1f} us in gaps between them\n",
                   stages.size(), spans, gaps);
  return s;
}

}  // namespace tessera

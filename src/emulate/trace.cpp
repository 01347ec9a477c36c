// Events are kept as plain structs and turned into JSON only when written: recording sits
// on the scheduler's path, and a long run has thousands of tasks per step.
#include "emulate/trace.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace tessera {

TraceRecorder::TraceRecorder(const Plan& plan, std::string process, std::string clock)
    : plan_(plan), process_(std::move(process)), clock_(std::move(clock)), origin_(std::chrono::steady_clock::now()) {}

double TraceRecorder::now_us() const {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - origin_).count();
}

void TraceRecorder::add(int32_t task, int64_t step, int64_t pos, double start_us, double end_us,
                        double wait_us, double input_us, double body_us) {
  events_.push_back({task, step, pos, start_us, end_us, wait_us, input_us, body_us});
}

std::string TraceRecorder::to_json() const {
  nlohmann::json events = nlohmann::json::array();
  events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", 0},
                    {"args", {{"name", process_ + ": " + plan_.model}}}});
  for (size_t b = 0; b < plan_.queues.size(); ++b)
    events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 0}, {"tid", b},
                      {"args", {{"name", "block " + std::to_string(b)}}}});
  for (const Event& e : events_) {
    const Task& t = plan_.tasks[size_t(e.task)];
    nlohmann::json args = {{"task", t.id}, {"step", e.step}, {"pos", e.pos}, {"wait_us", e.wait}};
    if (e.input >= 0) args["input_us"] = e.input;
    if (e.body >= 0) args["body_us"] = e.body;
    events.push_back({{"name", op_name(t.op)},
                      {"cat", "task"},
                      {"ph", "X"},
                      {"pid", 0},
                      {"tid", t.sm},
                      {"ts", e.start},
                      {"dur", e.end - e.start},
                      {"args", args}});
  }
  nlohmann::json doc = {{"traceEvents", events},
                        {"displayTimeUnit", "ms"},
                        {"otherData", {{"clock", clock_}}}};
  return doc.dump();
}

void TraceRecorder::write(const std::string& path) const {
  std::ofstream f(path, std::ios::binary);
  if (!f) fail("{}: cannot open the trace file for writing", path);
  f << to_json();
  if (!f.flush()) fail("{}: writing the trace failed", path);
}

}  // namespace tessera

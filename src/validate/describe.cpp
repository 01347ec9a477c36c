// Message fragments shared by every pass (see describe.h).
#include "validate/describe.h"

#include <fmt/format.h>

namespace tessera::validate {

std::string task_label(const Plan& plan, int32_t task) {
  if (task < 0 || size_t(task) >= plan.tasks.size()) return fmt::format("task {}", task);
  const Task& t = plan.tasks[size_t(task)];
  return fmt::format("task {} (block {}, {})", task, t.sm, op_name(t.op));
}

std::string counter_label(const Plan& plan, int32_t counter) {
  if (counter < 0 || size_t(counter) >= plan.counters.size()) return fmt::format("counter {}", counter);
  return fmt::format("counter '{}'", plan.counters[size_t(counter)].name);
}

std::string buffer_name(const Plan& plan, int32_t buf) {
  if (buf < 0 || size_t(buf) >= plan.buffers.size()) return fmt::format("{}", buf);
  return fmt::format("'{}'", plan.buffers[size_t(buf)].name);
}

std::string box_text(const Region& r, int64_t pos) {
  std::string s = "[";
  for (size_t d = 0; d < r.dims.size(); ++d) {
    if (d) s += ", ";
    s += fmt::format("{}:{}", r.dims[d].lo_at(pos), r.dims[d].hi_at(pos));
  }
  return s + "]";
}

bool depends_on_pos(const Region& r) {
  for (const Interval& i : r.dims)
    if (i.lo.pos != 0 || i.hi.pos != 0) return true;
  return false;
}

std::string region_text(const Plan& plan, const Region& r, int64_t pos) {
  std::string s = fmt::format("buffer {} {}", buffer_name(plan, r.buf), box_text(r, pos));
  if (depends_on_pos(r)) s += fmt::format(" at pos {}", pos);
  return s;
}

}  // namespace tessera::validate

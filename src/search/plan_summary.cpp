// Built on plan_stats (the same walk the cost model uses) so the numbers an agent reads are
// the ones the search ranks by; per-op byte figures come from task_bytes, weights only.
#include "search/plan_summary.h"

#include <algorithm>

#include <fmt/format.h>

#include "plan/lower.h"
#include "plan/plan_stats.h"

namespace tessera {

namespace {

template <typename T>
std::string min_median_max(std::vector<T> v) {
  if (v.empty()) return "none";
  std::sort(v.begin(), v.end());
  return fmt::format("min {} / median {} / max {}", v.front(), v[v.size() / 2], v.back());
}

}  // namespace

std::string plan_summary(const Plan& plan, int64_t pos) {
  // Any positive bandwidth gives the same path shape; only counts are printed.
  const PlanStats st = plan_stats(plan, 1e10, pos, "plan summary");
  std::string out = fmt::format("{} tasks on {} queues; tasks per queue {}; weight bytes per queue {}\n", plan.tasks.size(),
                                plan.queues.size(), min_median_max(st.tasks_per_block),
                                min_median_max(st.weight_bytes_per_block));
  std::array<std::vector<int64_t>, kNumOps> bytes;
  for (const Task& t : plan.tasks) bytes[size_t(t.op)].push_back(task_bytes(plan, t, pos, true));
  for (int op = 0; op < kNumOps; ++op) {
    if (st.tasks_per_op[size_t(op)] == 0) continue;
    out += fmt::format("- {}: {} tasks, weight bytes per task {}\n", op_name(Op(op)), st.tasks_per_op[size_t(op)],
                       min_median_max(bytes[size_t(op)]));
  }
  out += fmt::format("{} counter waits, {} signals; critical path {} tasks, {} waits, {} bytes (position {})\n", st.waits,
                     st.signals, st.critical_path_tasks, st.critical_path_waits, st.critical_path_bytes, pos);
  return out;
}

}  // namespace tessera

// Summary statistics of a plan for `tessera inspect` and the search: load per block, task
// counts per opcode, counter traffic, and a bandwidth-model critical path. Works on any
// parsed plan; a plan whose references are out of range or whose dependencies form a cycle
// gets a diagnostic (or no critical path), never a crash.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "plan/plan.h"

namespace tessera {

struct PlanStats {
  std::vector<int64_t> tasks_per_block;
  std::vector<int64_t> weight_bytes_per_block;  // bytes of Weight buffers each block streams
  std::array<int64_t, kNumOps> tasks_per_op{};
  int64_t waits = 0, signals = 0;
  int64_t max_waiters_per_counter = 0;
  int64_t total_weight_bytes = 0;  // summed over tasks (a weight read by two tasks counts twice)
  // Critical path under the bandwidth model: each task takes (weight bytes + KV-cache bytes
  // at `pos`) / per-block bandwidth; a task starts when the previous task of its queue has
  // finished and each of its waits is satisfied (its counter has received `threshold` from
  // the earliest-finishing producers). -1 when the dependencies form a cycle.
  double critical_path_s = -1;
  int64_t critical_path_tasks = 0;  // tasks on that path
  // What the path is made of (with PathCosts the path time is exactly
  // bytes / bandwidth + tasks * task_fixed_s + waits * wait_latency_s, which is what lets
  // the search's cost model fit those parameters by least squares).
  int64_t critical_path_bytes = 0;  // weight + KV bytes streamed by the tasks on the path
  int64_t critical_path_waits = 0;  // counter waits crossed along the path
  // Every task's start (queue predecessor done and waits met, wait latency included) and
  // finish under the same model, by task id: the predicted timeline of the step. Empty
  // when there is no critical path.
  std::vector<double> task_start_s, task_finish_s;
};

// The bandwidth model plus two latencies the search's cost model calibrates: a fixed cost
// per task (instruction prologue, input normalisation) and the time from a counter reaching
// a threshold to the waiting block starting (a global-memory round trip).
struct PathCosts {
  double bytes_per_s_per_block = 0;
  double task_fixed_s = 0;
  double wait_latency_s = 0;
};

// Throws tessera::Error naming `where` when a task, queue, wait or signal refers outside
// the plan (run the validator for the full story).
PlanStats plan_stats(const Plan& plan, double bytes_per_s_per_block, int64_t pos, const std::string& where);
PlanStats plan_stats(const Plan& plan, const PathCosts& costs, int64_t pos, const std::string& where);

}  // namespace tessera

// Common ground of the structural rewrites (rewrite.h): the dependency graph of a plan's
// tasks and one global order that every queue is a subsequence of. A rewrite edits the
// tasks and their blocks, keeps or edits that global order, and rebuilds the queues from
// it; as long as the order stays topological for the counter dependencies, the rebuilt
// queues cannot deadlock (the argument lower_assign.cpp makes for fresh plans), so a
// rewrite is valid by construction and the validator's check is a second proof.
//
// Dependencies are taken conservatively: a wait depends on every producer of its counter,
// even where a partial threshold needs only some, so the order is safe for any plan.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "plan/plan.h"

namespace tessera {

struct TaskGraph {
  std::vector<std::vector<int32_t>> preds, succs;  // counter dependencies (deduplicated)
  std::vector<int32_t> order;  // topological over dependencies and queue order
  std::vector<int32_t> level;  // longest dependency chain from a task without predecessors
};

// nullopt when the plan refers outside itself or its dependencies and queues form a cycle
// (the validator rejects such plans; a rewrite has nothing sound to start from).
std::optional<TaskGraph> task_graph(const Plan& plan);

// queues[b] = the tasks with sm == b, in `order`'s order (order lists every task once).
// The number of queues is kept.
void queues_from_order(Plan& plan, const std::vector<int32_t>& order);

// Sets a task's reads and writes to its opcode's footprint (throws tessera::Error when its
// parameters do not fit the opcode).
void refresh_footprint(const Plan& plan, Task& t);

// Bytes each task moves at `pos` (lower.h task_bytes, all regions), at least 1, so that a
// task that streams nothing still counts when spreading tasks out.
std::vector<int64_t> task_loads(const Plan& plan, int64_t pos);

// Per-step signal total of each counter, and whether every wait on it is a full join
// (threshold == total): the rewrites that add or remove producers only handle full joins.
bool full_joins_only(const Plan& plan, int32_t counter);
// Sets every wait on `counter` to the counter's current per-step total.
void rejoin_waits(Plan& plan, int32_t counter);

// Removes tasks (ids renumbered to stay equal to indices; queue entries and `order`
// follow). `order` may be null.
void remove_tasks(Plan& plan, const std::vector<int32_t>& ids, std::vector<int32_t>* order);
// Removes counters no task signals or waits on (ids renumbered).
void drop_unused_counters(Plan& plan);

}  // namespace tessera

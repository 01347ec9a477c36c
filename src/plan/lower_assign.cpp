// Block assignment and queue order. Tasks arrive in emission order, which is a topological
// order of every counter edge (producers are emitted before consumers), and each queue
// receives its tasks in that same order. So every queue is a subsequence of one global
// topological order, and no block can ever wait on a task queued after it in its own
// queue or in a cycle through other queues: deadlock freedom holds by construction.
//
// "bytes" balances each stage separately: stages are separated by joins, so a stage lasts
// as long as its most loaded block, and evening out totals across the whole step would let
// one stage pile onto blocks that happened to be light earlier. Within a stage each task
// goes to the block with the fewest bytes in that stage so far (ties: fewest bytes over
// the step, then lowest block), which is the classic greedy list scheduling bound.
#include <algorithm>
#include <queue>
#include <tuple>

#include "core/error.h"
#include "plan/lower_internal.h"

namespace tessera::lowering {

void assign_blocks(Plan& plan, const std::vector<int>& stage_of, const std::string& order, int blocks) {
  TS_CHECK(blocks > 0, "blocks {}", blocks);
  TS_CHECK(stage_of.size() == plan.tasks.size(), "stage per task");
  plan.queues.assign(size_t(blocks), {});
  if (order == "round_robin") {
    size_t next = 0;
    for (Task& t : plan.tasks) {
      t.sm = int32_t(next);
      plan.queues[next].push_back(t.id);
      next = (next + 1) % size_t(blocks);
    }
    return;
  }
  TS_CHECK(order == "bytes", "queue_order '{}'", order);
  // Attention cost depends on pos; balance for a step half way through the context.
  const int64_t pos = plan.context / 2;
  std::vector<int64_t> total(size_t(blocks), 0);
  using Key = std::tuple<int64_t, int64_t, int32_t>;  // (stage bytes, step bytes, block)
  std::priority_queue<Key, std::vector<Key>, std::greater<Key>> heap;
  int stage = -1;
  for (Task& t : plan.tasks) {
    if (stage_of[size_t(t.id)] != stage) {
      stage = stage_of[size_t(t.id)];
      heap = {};
      for (int32_t b = 0; b < blocks; ++b) heap.push({0, total[size_t(b)], b});
    }
    auto [stage_bytes, step_bytes, b] = heap.top();
    heap.pop();
    // Every task costs at least a little, so tasks that stream nothing still spread out.
    const int64_t cost = std::max<int64_t>(task_bytes(plan, t, pos, false), 1);
    total[size_t(b)] += cost;
    heap.push({stage_bytes + cost, total[size_t(b)], b});
    t.sm = b;
    plan.queues[size_t(b)].push_back(t.id);
  }
}

}  // namespace tessera::lowering

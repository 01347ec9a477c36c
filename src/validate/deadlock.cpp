// Rule "deadlock": some tasks can never run. Counters only grow and every task runs once,
// so running every task that can run, in any order, until none can, reaches the same
// final state as any execution: tasks left over are stuck in every execution, and a plan
// where none are left cannot deadlock (given co-residency). This is Kahn's algorithm over
// queue edges and counter thresholds, with each counter's waiting blocks in a min-heap of
// thresholds so a join with thousands of waiters costs O(log n) per signal.
//
// From a stuck task, "what it waits for" (its queue predecessor, or a producer of the
// counter it is blocked on that has not run) is always another stuck task, so following it
// must revisit a task: that loop is the cycle the diagnostic prints.
#include <fmt/format.h>

#include <functional>
#include <queue>

#include "core/error.h"

#include "validate/describe.h"
#include "validate/passes.h"

namespace tessera::validate {

namespace {

struct Blocked {
  int64_t threshold;
  int32_t block;
  bool operator>(const Blocked& o) const {
    return threshold != o.threshold ? threshold > o.threshold : block > o.block;
  }
};

// The first wait of `t` not met by `value`, or -1.
int first_unmet(const Task& t, const std::vector<int64_t>& value) {
  for (size_t k = 0; k < t.waits.size(); ++k)
    if (value[size_t(t.waits[k].counter)] < t.waits[k].threshold) return int(k);
  return -1;
}

}  // namespace

bool check_deadlock(const Plan& plan, Facts& facts, Sink& sink) {
  const size_t blocks = plan.queues.size();
  std::vector<size_t> head(blocks, 0);
  std::vector<int64_t> value(plan.counters.size(), 0);
  std::vector<std::priority_queue<Blocked, std::vector<Blocked>, std::greater<>>> waiting(plan.counters.size());
  std::vector<int32_t> runnable;
  for (size_t b = blocks; b-- > 0;) runnable.push_back(int32_t(b));
  facts.order.clear();
  facts.order.reserve(plan.tasks.size());

  while (!runnable.empty()) {
    const int32_t b = runnable.back();
    runnable.pop_back();
    const auto& q = plan.queues[size_t(b)];
    while (head[size_t(b)] < q.size()) {
      const Task& t = plan.tasks[size_t(q[head[size_t(b)]])];
      const int k = first_unmet(t, value);
      if (k >= 0) {
        waiting[size_t(t.waits[size_t(k)].counter)].push({t.waits[size_t(k)].threshold, b});
        break;
      }
      facts.order.push_back(t.id);
      ++head[size_t(b)];
      for (const Signal& s : t.signals) {
        auto& heap = waiting[size_t(s.counter)];
        value[size_t(s.counter)] += s.inc;
        while (!heap.empty() && heap.top().threshold <= value[size_t(s.counter)]) {
          runnable.push_back(heap.top().block);
          heap.pop();
        }
      }
    }
  }
  facts.order_index.assign(plan.tasks.size(), -1);
  for (size_t i = 0; i < facts.order.size(); ++i) facts.order_index[size_t(facts.order[i])] = int32_t(i);
  if (facts.order.size() == plan.tasks.size()) return true;

  // Each stuck task points at a stuck task it waits for; walk until a task repeats.
  struct Hop {
    int32_t next;
    int32_t counter;  // -1: queue predecessor
  };
  auto hop = [&](int32_t id) -> Hop {
    const Task& t = plan.tasks[size_t(id)];
    const size_t k = size_t(facts.queue_index[size_t(id)]);
    if (k > head[size_t(t.sm)]) return {plan.queues[size_t(t.sm)][k - 1], -1};
    const int w = first_unmet(t, value);
    TS_CHECK(w >= 0, "stuck task {} at the head of its queue has every wait met", id);
    const int32_t c = t.waits[size_t(w)].counter;
    for (const Producer& p : facts.producers[size_t(c)])
      if (facts.order_index[size_t(p.task)] < 0) return {p.task, c};
    TS_CHECK(false, "task {} waits on counter {} whose producers all ran (unsatisfiable wait)", id, c);
    return {-1, -1};
  };
  int32_t start = -1;
  for (size_t b = 0; b < blocks && start < 0; ++b)
    if (head[b] < plan.queues[b].size()) start = plan.queues[b][head[b]];
  std::vector<int32_t> seen_at(plan.tasks.size(), -1);
  std::vector<int32_t> path;
  int32_t cur = start;
  while (seen_at[size_t(cur)] < 0) {
    seen_at[size_t(cur)] = int32_t(path.size());
    path.push_back(cur);
    cur = hop(cur).next;
  }
  std::vector<int32_t> cycle(path.begin() + seen_at[size_t(cur)], path.end());

  std::vector<std::string> hops;
  int32_t first_counter = -1;
  for (size_t i = 0; i < cycle.size(); ++i) {
    const Hop h = hop(cycle[i]);
    if (h.counter < 0) {
      hops.push_back(fmt::format("{} runs after task {} in its queue", task_label(plan, cycle[i]), h.next));
    } else {
      const Task& t = plan.tasks[size_t(cycle[i])];
      int64_t need = 0;
      for (const Wait& w : t.waits)
        if (w.counter == h.counter && value[size_t(w.counter)] < w.threshold) { need = w.threshold; break; }
      if (first_counter < 0) first_counter = h.counter;
      hops.push_back(fmt::format("{} waits for {} to reach {} (stuck at {}) signalled by task {}",
                                 task_label(plan, cycle[i]), counter_label(plan, h.counter), need,
                                 value[size_t(h.counter)], h.next));
    }
  }
  Diagnostic d{"deadlock",
               fmt::format("{} of {} tasks can never run; cycle: {}", plan.tasks.size() - facts.order.size(),
                           plan.tasks.size(), fmt::join(hops, " -> ")),
               cycle, first_counter, -1, cycle};
  sink.add(std::move(d));
  return false;
}

}  // namespace tessera::validate

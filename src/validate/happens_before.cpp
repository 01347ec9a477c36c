// Happens-before as vector clocks: clock(t)[b] = number of tasks of block b that happen
// before or at t, so "a happens before b" is one comparison, clock(b)[block(a)] > index(a).
// clock(t) joins its queue predecessor's clock with, for each wait, the clocks of the
// producers the wait *guarantees* ran: with producer increments i_j summing to E per step
// and threshold h, producer j has run iff the others together (E - i_j) fall short of h.
// A full wait (h == E) guarantees all producers; a partial one perhaps none.
//
// Clocks are computed in the deadlock pass's execution order, where every guaranteed
// producer precedes its waiter. The join of a counter's guaranteed producers depends only
// on (counter, threshold), so it is computed once and shared by every waiter: a join
// counter with thousands of producers and waiters costs producers + waiters, not their
// product. Cost: O(tasks x blocks) time and memory.
#include <algorithm>

#include "core/error.h"
#include "validate/passes.h"

namespace tessera::validate {

void compute_clocks(const Plan& plan, Facts& facts) {
  const size_t B = facts.blocks;
  facts.clocks.assign(plan.tasks.size() * B, 0);
  struct Joined {
    int64_t threshold;
    std::vector<int32_t> clock;
  };
  std::vector<std::vector<Joined>> memo(plan.counters.size());

  auto guaranteed_join = [&](const Wait& w, int32_t waiter) -> const std::vector<int32_t>& {
    auto& entries = memo[size_t(w.counter)];
    for (const Joined& j : entries)
      if (j.threshold == w.threshold) return j.clock;
    Joined j{w.threshold, std::vector<int32_t>(B, 0)};
    const int64_t total = facts.totals[size_t(w.counter)];
    for (const Producer& p : facts.producers[size_t(w.counter)]) {
      if (total - p.inc >= w.threshold) continue;  // the others alone can satisfy the wait
      TS_CHECK(facts.order_index[size_t(p.task)] < facts.order_index[size_t(waiter)],
               "guaranteed producer {} of task {} runs after it", p.task, waiter);
      const int32_t* c = facts.clock(p.task);
      for (size_t b = 0; b < B; ++b) j.clock[b] = std::max(j.clock[b], c[b]);
    }
    entries.push_back(std::move(j));
    return entries.back().clock;
  };

  for (int32_t id : facts.order) {
    const Task& t = plan.tasks[size_t(id)];
    int32_t* c = facts.clocks.data() + size_t(id) * B;
    const int32_t k = facts.queue_index[size_t(id)];
    if (k > 0) {
      const int32_t* prev = facts.clock(plan.queues[size_t(t.sm)][size_t(k - 1)]);
      std::copy(prev, prev + B, c);
    }
    for (const Wait& w : t.waits) {
      const std::vector<int32_t>& j = guaranteed_join(w, id);
      for (size_t b = 0; b < B; ++b) c[b] = std::max(c[b], j[b]);
    }
    c[size_t(t.sm)] = k + 1;
  }
}

}  // namespace tessera::validate

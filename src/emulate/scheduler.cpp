// Rounds rather than a free-running thread per block: a central picker makes the
// interleaving a pure function of the seed (reproducible failures), and the serial start
// phase gives the shadow state its linear history without locks. A round holds at most
// twice as many tasks as there are workers, so long and short tasks still overlap.
#include "emulate/scheduler.h"

#include <algorithm>
#include <atomic>

#include <fmt/format.h>

#include "core/error.h"

namespace tessera {

Scheduler::Scheduler(const Plan& plan, int threads, uint64_t seed)
    : plan_(plan), per_step_(per_step_totals(plan)), value_(plan.counters.size(), 0), rng_(seed),
      pool_(threads) {}

void Scheduler::reset() { std::fill(value_.begin(), value_.end(), 0); }

bool Scheduler::ready(const Task& t, int64_t step) const {
  for (const Wait& w : t.waits)
    if (value_[size_t(w.counter)] < step * per_step_[size_t(w.counter)] + w.threshold) return false;
  return true;
}

void Scheduler::stall(int64_t step, int64_t pos, const std::vector<size_t>& next, size_t done) const {
  std::string lines;
  for (size_t b = 0; b < plan_.queues.size(); ++b) {
    if (next[b] >= plan_.queues[b].size()) continue;
    const Task& t = plan_.tasks[size_t(plan_.queues[b][next[b]])];
    std::vector<std::string> waits;
    for (const Wait& w : t.waits) {
      const int64_t need = step * per_step_[size_t(w.counter)] + w.threshold;
      const int64_t have = value_[size_t(w.counter)];
      if (have < need)
        waits.push_back(fmt::format("counter {} '{}' is {}, needs {} (threshold {} of {} per step)",
                                    w.counter, plan_.counters[size_t(w.counter)].name, have, need,
                                    w.threshold, per_step_[size_t(w.counter)]));
    }
    lines += fmt::format("\n  block {}: task {} ({}) waits: {}", b, t.id, op_name(t.op), fmt::join(waits, "; "));
  }
  fail("plan stalls at step {} (pos {}): no task can run and {} of {} tasks have not run{}", step, pos,
       plan_.tasks.size() - done, plan_.tasks.size(), lines);
}

void Scheduler::run_step(int64_t step, int64_t pos, const SchedulerHooks& hooks) {
  const size_t blocks = plan_.queues.size();
  std::vector<size_t> next(blocks, 0);
  std::vector<size_t> runnable;
  std::vector<int32_t> round;
  size_t done = 0;
  const size_t max_round = size_t(std::max(1, 2 * pool_.size()));
  while (done < plan_.tasks.size()) {
    runnable.clear();
    for (size_t b = 0; b < blocks; ++b)
      if (next[b] < plan_.queues[b].size() && ready(plan_.tasks[size_t(plan_.queues[b][next[b]])], step))
        runnable.push_back(b);
    if (runnable.empty()) stall(step, pos, next, done);

    // Distinct runnable blocks in uniformly random order: three rounds in four as many as
    // the round holds, else a uniformly random number of them. Only uniform sizes (the
    // first form) made the average round half full and emulated llama-3.2-1b at 3.3x the
    // reference engine on 16 cores (docs/PERF.md); the small rounds keep the orders where
    // few tasks run between two others.
    const size_t cap = std::min(runnable.size(), max_round);
    const size_t k = rng_() % 4 != 0 ? cap : 1 + size_t(rng_() % cap);
    round.clear();
    int64_t cost = 0;
    for (size_t i = 0; i < k; ++i) {
      std::swap(runnable[i], runnable[i + size_t(rng_() % (runnable.size() - i))]);
      const int32_t task = plan_.queues[runnable[i]][next[runnable[i]]];
      round.push_back(task);
      cost += hooks.cost.empty() ? ThreadPool::kInlineWork : hooks.cost[size_t(task)];
    }
    for (int32_t task : round) hooks.start(task);

    std::atomic<size_t> claim{0};
    pool_.parallel_for(pool_.size(), [&](int64_t, int64_t) {
      for (size_t i; (i = claim.fetch_add(1)) < round.size();) hooks.run(round[i]);
    }, std::max<int64_t>(1, cost / pool_.size()));

    for (int32_t task : round) {
      const Task& t = plan_.tasks[size_t(task)];
      hooks.finish(task);
      for (const Signal& s : t.signals) value_[size_t(s.counter)] += s.inc;
      ++next[size_t(t.sm)];
      ++done;
    }
  }
}

}  // namespace tessera

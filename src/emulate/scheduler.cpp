// Rounds rather than a free-running thread per block: a central picker makes the
// interleaving a pure function of the seed (reproducible failures), and the serial start
// phase gives the shadow state its linear history without locks. A round holds at most
// twice as many tasks as there are workers, so long and short tasks still overlap.
// Free dispatch (run_free) trades that reproducibility for no barrier: one mutex guards the
// counters, the queue positions and the hooks' start/finish; only twins run outside it.
#include "emulate/scheduler.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>

#include <fmt/format.h>

#include "core/error.h"

namespace tessera {

Dispatch parse_dispatch(const std::string& name) {
  if (name == "rounds") return Dispatch::Rounds;
  if (name == "free") return Dispatch::Free;
  fail("emulator dispatch must be 'rounds' or 'free', got '{}'", name);
}

Scheduler::Scheduler(const Plan& plan, int threads, uint64_t seed, Dispatch dispatch)
    : plan_(plan), per_step_(per_step_totals(plan)), value_(plan.counters.size(), 0), rng_(seed),
      pool_(threads), dispatch_(dispatch) {}

void Scheduler::reset() { std::fill(value_.begin(), value_.end(), 0); }

int32_t Scheduler::first_unmet(const Task& t, int64_t step) const {
  for (const Wait& w : t.waits)
    if (value_[size_t(w.counter)] < step * per_step_[size_t(w.counter)] + w.threshold) return w.counter;
  return -1;
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
  if (dispatch_ == Dispatch::Free) run_free(step, pos, hooks);
  else run_rounds(step, pos, hooks);
}

void Scheduler::run_free(int64_t step, int64_t pos, const SchedulerHooks& hooks) {
  const size_t blocks = plan_.queues.size(), total = plan_.tasks.size();
  auto cost_of = [&](int32_t task) { return hooks.cost.empty() ? ThreadPool::kInlineWork : hooks.cost[size_t(task)]; };
  int64_t step_cost = 0;
  for (size_t i = 0; i < total; ++i) step_cost += cost_of(int32_t(i));

  // The ready set is kept incrementally rather than found by scanning every block on each
  // acquisition: a block whose next task cannot run waits on the first counter it lacks,
  // and is looked at again only when that counter is signalled. Each finish wakes one
  // worker per task it made ready, not all of them. Scanning 132 blocks under the mutex,
  // with every finish waking every worker to rescan, made free dispatch slower than rounds
  // on 16 cores (docs/PERF.md, ninth session).
  std::mutex mu;
  std::condition_variable changed;  // a task became ready, or the step ended or failed
  std::vector<size_t> next(blocks, 0);
  std::vector<size_t> ready_blocks;                        // next task runnable, not taken
  std::vector<std::vector<size_t>> waiting(value_.size());  // per counter: blocks it holds back
  size_t done = 0, running = 0;
  std::exception_ptr error;

  // Files block b under its next task's state; returns whether it became ready.
  auto enqueue = [&](size_t b) {
    if (next[b] >= plan_.queues[b].size()) return false;
    const int32_t c = first_unmet(plan_.tasks[size_t(plan_.queues[b][next[b]])], step);
    if (c >= 0) {
      waiting[size_t(c)].push_back(b);
      return false;
    }
    ready_blocks.push_back(b);
    return true;
  };
  for (size_t b = 0; b < blocks; ++b) enqueue(b);

  auto worker = [&] {
    std::vector<size_t> recheck;
    std::unique_lock lock(mu);
    while (!error && done < total) {
      if (ready_blocks.empty()) {
        if (running > 0) {
          changed.wait(lock);
          continue;
        }
        try {
          stall(step, pos, next, done);
        } catch (...) {
          error = std::current_exception();
        }
        break;
      }
      const size_t pick = size_t(rng_() % ready_blocks.size()), b = ready_blocks[pick];
      ready_blocks[pick] = ready_blocks.back();
      ready_blocks.pop_back();
      const int32_t task = plan_.queues[b][next[b]];
      ++running;
      bool ok = false;
      try {
        hooks.start(task);
        // Releasing the mutex costs a handover only when others wait for it: a few
        // microseconds, not the tens a pool wake-up costs, hence the lower threshold.
        if (cost_of(task) < ThreadPool::kInlineWork / 16) {
          hooks.run(task);
        } else {
          lock.unlock();
          hooks.run(task);
          lock.lock();
        }
        hooks.finish(task);
        ok = true;
      } catch (...) {
        if (!lock.owns_lock()) lock.lock();
        if (!error) error = std::current_exception();
      }
      --running;
      if (!ok) break;
      size_t woken = 0;
      for (const Signal& s : plan_.tasks[size_t(task)].signals) {
        value_[size_t(s.counter)] += s.inc;
        recheck.swap(waiting[size_t(s.counter)]);
        for (size_t w : recheck) woken += enqueue(w) ? 1 : 0;
        recheck.clear();
      }
      ++next[b];
      ++done;
      woken += enqueue(b) ? 1 : 0;
      // This worker takes one of them itself; the last task, or none left running and none
      // ready (a stall), must reach every waiting worker.
      if (done == total || (ready_blocks.empty() && running == 0)) changed.notify_all();
      else
        for (size_t i = 1; i < woken; ++i) changed.notify_one();
    }
    changed.notify_all();  // a stall or error: waiting workers must see it
  };
  // One worker per pool thread; a step too small to pay for waking them runs on this one.
  pool_.parallel_for(pool_.size(), [&](int64_t, int64_t) { worker(); },
                     std::max<int64_t>(1, step_cost / pool_.size()));
  if (error) std::rethrow_exception(error);
}

void Scheduler::run_rounds(int64_t step, int64_t pos, const SchedulerHooks& hooks) {
  const size_t blocks = plan_.queues.size();
  std::vector<size_t> next(blocks, 0);
  std::vector<size_t> runnable;
  std::vector<int32_t> round;
  size_t done = 0;
  const size_t max_round = size_t(std::max(1, 2 * pool_.size()));
  while (done < plan_.tasks.size()) {
    runnable.clear();
    for (size_t b = 0; b < blocks; ++b)
      if (next[b] < plan_.queues[b].size() && first_unmet(plan_.tasks[size_t(plan_.queues[b][next[b]])], step) < 0)
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

// The emulator's stand-in for the GPU's persistent blocks: runs one step's tasks in a random
// interleaving the counters allow, on worker threads.
//
// Each round it collects the blocks whose next task has all waits satisfied
// (value >= step * E[c] + threshold; counters are never reset, as on the GPU), picks some
// of them uniformly at random (usually as many as a round holds, sometimes a random
// number; scheduler.cpp), starts them in the picked order (serially,
// so the happens-before and shadow checks see one linear history), runs their twins
// concurrently, then finishes them and applies their signals. Tasks of one round are
// unordered by the counters, so running them together exercises exactly the concurrency
// the plan permits. The same seed gives the same rounds; results of a race-free plan do not
// depend on the seed at all.
//
// That is Dispatch::Rounds, the default. Every round is a barrier (it waits for its slowest
// task), which on many cores costs a third of the step (docs/PERF.md, "The emulator's
// rounds"). Dispatch::Free drops the barrier: each worker repeatedly takes, under one mutex,
// a ready block chosen at random with the seeded RNG, starts its task (still serial, under
// the mutex, so the checks see one linear history), runs the twin without the mutex, then
// retakes it to finish the task and apply its signals, waking one waiting worker per task
// that became ready (the ready set is kept per counter, not rescanned). Tiny tasks run
// under the mutex. Which task goes next depends on which worker asks first, i.e. on
// thread timing, so a Free interleaving is NOT reproducible from the seed (with one thread
// it is). Tests and the search's emulator rung use Rounds, so a failure can be replayed
// from its seed; `tessera emulate --dispatch free` and EmulatorOptions::dispatch select
// Free where speed matters more than replay (a large model's check). Both modes explore
// only interleavings the counters permit, and both catch races through the same
// happens-before and shadow checks.
//
// When no block can run and tasks remain, the step stalls: a tessera::Error lists each
// blocked block's next task and the counter values and thresholds it waits for. An
// exception from a hook ends the step (Free: once running tasks are done) and propagates.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <random>
#include <vector>

#include "engine/thread_pool.h"
#include "plan/plan.h"

namespace tessera {

enum class Dispatch { Rounds, Free };

// "rounds" | "free"; throws tessera::Error naming the valid values otherwise.
Dispatch parse_dispatch(const std::string& name);

struct SchedulerHooks {
  std::function<void(int32_t task)> start;   // serial, in dispatch order
  std::function<void(int32_t task)> run;     // concurrent with other running tasks
  std::function<void(int32_t task)> finish;  // serial, before the task's signals apply
  std::vector<int64_t> cost;                 // per task: rough multiply-adds (inline small work)
};

class Scheduler {
 public:
  Scheduler(const Plan& plan, int threads, uint64_t seed, Dispatch dispatch = Dispatch::Rounds);

  void reset();  // counters back to zero (a fresh run)
  // Runs every task of step `step` once. Throws tessera::Error on a stall.
  void run_step(int64_t step, int64_t pos, const SchedulerHooks& hooks);
  const std::vector<int64_t>& counter_values() const { return value_; }
  int threads() const { return pool_.size(); }

 private:
  // The first counter task t waits on that has not reached its threshold, or -1: ready.
  int32_t first_unmet(const Task& t, int64_t step) const;
  void run_rounds(int64_t step, int64_t pos, const SchedulerHooks& hooks);
  void run_free(int64_t step, int64_t pos, const SchedulerHooks& hooks);
  [[noreturn]] void stall(int64_t step, int64_t pos, const std::vector<size_t>& next, size_t done) const;

  const Plan& plan_;
  std::vector<int64_t> per_step_;  // E[c]
  std::vector<int64_t> value_;     // counter values, persisting across steps
  std::mt19937_64 rng_;
  ThreadPool pool_;
  Dispatch dispatch_;
};

}  // namespace tessera

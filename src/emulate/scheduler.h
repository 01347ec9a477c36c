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
// When no block can run and tasks remain, the step stalls: a tessera::Error lists each
// blocked block's next task and the counter values and thresholds it waits for.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "engine/thread_pool.h"
#include "plan/plan.h"

namespace tessera {

struct SchedulerHooks {
  std::function<void(int32_t task)> start;   // serial, in dispatch order
  std::function<void(int32_t task)> run;     // concurrent with the round's other tasks
  std::function<void(int32_t task)> finish;  // serial, before the task's signals apply
  std::vector<int64_t> cost;                 // per task: rough multiply-adds (inline small rounds)
};

class Scheduler {
 public:
  Scheduler(const Plan& plan, int threads, uint64_t seed);

  void reset();  // counters back to zero (a fresh run)
  // Runs every task of step `step` once. Throws tessera::Error on a stall.
  void run_step(int64_t step, int64_t pos, const SchedulerHooks& hooks);
  const std::vector<int64_t>& counter_values() const { return value_; }
  int threads() const { return pool_.size(); }

 private:
  bool ready(const Task& t, int64_t step) const;
  [[noreturn]] void stall(int64_t step, int64_t pos, const std::vector<size_t>& next, size_t done) const;

  const Plan& plan_;
  std::vector<int64_t> per_step_;  // E[c]
  std::vector<int64_t> value_;     // counter values, persisting across steps
  std::mt19937_64 rng_;
  ThreadPool pool_;
};

}  // namespace tessera

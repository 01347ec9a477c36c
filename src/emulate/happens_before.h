// Dynamic happens-before of one emulated step, as vector clocks with one component per
// block (the GPU's persistent blocks are the emulator's "threads").
//
// A task's clock is its queue predecessor's clock joined with the clocks released into
// every counter it waited on, at the moment its waits were satisfied; a signal releases the
// signaller's clock into the counter. This is the happens-before the GPU's acquire/release
// counters really establish in the observed interleaving (an acquire that reads a counter
// synchronises with every release already in it), so a read or write the clocks do not
// order after a conflicting access is a race in some execution of the plan.
//
// Clocks start from zero at every step: a kernel launch orders everything before it.
#pragma once

#include <cstdint>
#include <vector>

#include "plan/plan.h"

namespace tessera {

class HappensBefore {
 public:
  explicit HappensBefore(const Plan& plan);

  void begin_step();
  // Task `task` starts on its block; its waits are satisfied now. Call in dispatch order.
  void start(int32_t task);
  // Task `task` finished: its signals release its clock into their counters.
  void finish(int32_t task);
  // Whether task a (started) happens-before task b (started) in this step. A task is
  // ordered before itself.
  bool ordered(int32_t a, int32_t b) const {
    const int32_t sa = sm_[size_t(a)];
    return clock(a)[sa] <= clock(b)[sa];
  }

 private:
  const int32_t* clock(int32_t task) const { return task_clock_.data() + size_t(task) * blocks_; }
  int32_t* clock(int32_t task) { return task_clock_.data() + size_t(task) * blocks_; }
  static void join(int32_t* into, const int32_t* from, size_t n) {
    for (size_t i = 0; i < n; ++i) into[i] = into[i] > from[i] ? into[i] : from[i];
  }

  const Plan& plan_;
  size_t blocks_;
  std::vector<int32_t> sm_;           // [tasks] block of each task
  std::vector<int32_t> task_clock_;   // [tasks][blocks]
  std::vector<int32_t> block_clock_;  // [blocks][blocks]
  std::vector<int32_t> counter_clock_;  // [counters][blocks]
};

}  // namespace tessera

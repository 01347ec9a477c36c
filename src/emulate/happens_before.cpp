// Flat arrays rather than a vector per clock: a 1B-parameter plan has thousands of tasks
// on 132 blocks, and begin_step() must clear them all every step.
#include "emulate/happens_before.h"

#include <algorithm>

namespace tessera {

HappensBefore::HappensBefore(const Plan& plan) : plan_(plan), blocks_(plan.queues.size()) {
  sm_.resize(plan.tasks.size());
  for (const Task& t : plan.tasks) sm_[size_t(t.id)] = t.sm;
  task_clock_.assign(plan.tasks.size() * blocks_, 0);
  block_clock_.assign(blocks_ * blocks_, 0);
  counter_clock_.assign(plan.counters.size() * blocks_, 0);
}

void HappensBefore::begin_step() {
  std::fill(task_clock_.begin(), task_clock_.end(), 0);
  std::fill(block_clock_.begin(), block_clock_.end(), 0);
  std::fill(counter_clock_.begin(), counter_clock_.end(), 0);
}

void HappensBefore::start(int32_t task) {
  const Task& t = plan_.tasks[size_t(task)];
  int32_t* c = clock(task);
  int32_t* block = block_clock_.data() + size_t(t.sm) * blocks_;
  std::copy(block, block + blocks_, c);
  for (const Wait& w : t.waits) join(c, counter_clock_.data() + size_t(w.counter) * blocks_, blocks_);
  c[t.sm] += 1;
  std::copy(c, c + blocks_, block);
}

void HappensBefore::finish(int32_t task) {
  const Task& t = plan_.tasks[size_t(task)];
  for (const Signal& s : t.signals)
    join(counter_clock_.data() + size_t(s.counter) * blocks_, clock(task), blocks_);
}

}  // namespace tessera

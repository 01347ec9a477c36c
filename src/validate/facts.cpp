// Facts every graph analysis needs, computed once from a structurally sound plan: where
// each task sits in its queue, who signals each counter and by how much in total.
// Producers are merged per task (a task signalling a counter twice is one producer with
// the summed increment): the partial-threshold rule reasons about tasks, not signals.
#include "validate/passes.h"

namespace tessera::validate {

Facts derive_facts(const Plan& plan) {
  Facts f;
  f.blocks = plan.queues.size();
  f.queue_index.assign(plan.tasks.size(), 0);
  for (const auto& q : plan.queues)
    for (size_t k = 0; k < q.size(); ++k) f.queue_index[size_t(q[k])] = int32_t(k);
  f.producers.assign(plan.counters.size(), {});
  f.totals.assign(plan.counters.size(), 0);
  for (const Task& t : plan.tasks)
    for (const Signal& s : t.signals) {
      auto& ps = f.producers[size_t(s.counter)];
      if (!ps.empty() && ps.back().task == t.id)
        ps.back().inc += s.inc;
      else
        ps.push_back({t.id, s.inc});
      f.totals[size_t(s.counter)] += s.inc;  // no overflow: structure checked the sums
    }
  return f;
}

}  // namespace tessera::validate

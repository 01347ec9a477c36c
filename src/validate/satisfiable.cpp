// Rule "satisfiable": a wait whose threshold exceeds what all producers of its counter add
// in one step can never be met (counters are never reset; step t needs t*E + h and only
// t*E + E ever arrives), so the block stalls forever.
#include <fmt/format.h>

#include "validate/describe.h"
#include "validate/passes.h"

namespace tessera::validate {

std::string producer_list(const std::vector<Producer>& ps) {
  if (ps.empty()) return "no task signals it";
  std::string s;
  const size_t shown = ps.size() < 4 ? ps.size() : 4;
  for (size_t i = 0; i < shown; ++i) s += fmt::format("{}task {} +{}", i ? ", " : "", ps[i].task, ps[i].inc);
  if (shown < ps.size()) s += fmt::format(", and {} more", ps.size() - shown);
  return "producers: " + s;
}

void check_satisfiable(const Plan& plan, const Facts& facts, Sink& sink) {
  for (const Task& t : plan.tasks)
    for (const Wait& w : t.waits) {
      if (sink.full()) return;
      const int64_t total = facts.totals[size_t(w.counter)];
      if (w.threshold > total)
        sink.add("satisfiable",
                 fmt::format("{}: waits for {} to reach {} but its signals add only {} per step ({})",
                             task_label(plan, t.id), counter_label(plan, w.counter), w.threshold, total,
                             producer_list(facts.producers[size_t(w.counter)])),
                 {t.id}, w.counter);
    }
}

}  // namespace tessera::validate

// Rule "partial-threshold": a wait below its counter's per-step total, on a counter with
// several producers, is satisfied by some subset of them, and guarantees only producers
// that every satisfying subset contains (happens_before.cpp). When it guarantees none,
// yet the waiter reads what a producer writes, the wait protects nothing it seems meant
// to protect: reported here by name, in addition to the race it leaves. Producers that
// happen before the waiter by other means (its own queue, another wait) are not blamed.
#include <fmt/format.h>

#include "validate/describe.h"
#include "validate/passes.h"
#include "validate/pos_range.h"

namespace tessera::validate {

void check_partial_thresholds(const Plan& plan, const Facts& facts, Sink& sink) {
  for (const Task& t : plan.tasks)
    for (const Wait& w : t.waits) {
      if (sink.full()) return;
      const auto& ps = facts.producers[size_t(w.counter)];
      const int64_t total = facts.totals[size_t(w.counter)];
      if (ps.size() < 2 || w.threshold >= total) continue;
      bool any = false;
      for (const Producer& p : ps) any = any || total - p.inc < w.threshold;
      if (any) continue;
      bool reported = false;
      for (const Producer& p : ps) {
        if (facts.before(plan, p.task, t.id)) continue;  // ordered anyway (e.g. earlier in its queue)
        for (const Region& wr : plan.tasks[size_t(p.task)].writes) {
          for (const Region& rd : t.reads) {
            if (rd.buf != wr.buf) continue;
            PosSet at = regions_overlap(rd, wr, plan.context);
            if (at.empty()) continue;
            sink.add("partial-threshold",
                     fmt::format("{}: waits for {} to reach {} of its {} per step, which guarantees none of "
                                 "its producers ran ({}), yet reads {} that {} writes",
                                 task_label(plan, t.id), counter_label(plan, w.counter), w.threshold, total,
                                 producer_list(ps), region_text(plan, rd, at.first()), task_label(plan, p.task)),
                     {t.id, p.task}, w.counter, rd.buf);
            reported = true;
            break;
          }
          if (reported) break;
        }
        if (reported) break;
      }
    }
}

}  // namespace tessera::validate

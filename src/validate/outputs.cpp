// Rule "output": every element of every output buffer is written by exactly one task
// (the host reads outputs after the step; a second write would be a second answer).
// Writes to outputs are fixed boxes, flattened to runs and kept with their writer so a
// double write names both tasks.
#include <fmt/format.h>

#include <map>

#include "validate/coverage.h"
#include "validate/describe.h"
#include "validate/passes.h"

namespace tessera::validate {

void check_outputs(const Plan& plan, Sink& sink) {
  struct Run {
    int64_t hi;
    int32_t task;
  };
  std::vector<std::map<int64_t, Run>> owners(plan.buffers.size());  // first writer of each run
  std::vector<RangeUnion> covered(plan.buffers.size());
  for (const Task& t : plan.tasks)
    for (const Region& r : t.writes) {
      const Buffer& b = plan.buffers[size_t(r.buf)];
      if (b.kind != BufferKind::Output) continue;
      auto& runs = owners[size_t(r.buf)];
      bool clash = false;
      for_each_run(r, b.shape, 0, 0, [&](int64_t lo, int64_t hi) {
        covered[size_t(r.buf)].add(lo, hi);
        if (clash) return;
        auto it = runs.upper_bound(lo);
        if (it != runs.begin() && std::prev(it)->second.hi > lo) --it;
        if (it != runs.end() && it->first < hi) {
          clash = true;
          if (!sink.full())
            sink.add("output",
                     fmt::format("{}: writes {}, which {} also writes (every output element is written exactly "
                                 "once)", task_label(plan, t.id), region_text(plan, r, 0),
                                 task_label(plan, it->second.task)),
                     {t.id, it->second.task}, -1, r.buf);
          return;
        }
        runs.emplace(lo, Run{hi, t.id});
      });
    }
  for (size_t b = 0; b < plan.buffers.size(); ++b) {
    const Buffer& buf = plan.buffers[b];
    if (buf.kind != BufferKind::Output || sink.full()) continue;
    int64_t n = 1;
    for (int64_t d : buf.shape) n *= d;
    if (auto gap = covered[b].first_gap(0, n))
      sink.add("output",
               fmt::format("output buffer '{}': elements [{}:{}]{} are never written", buf.name, gap->first, gap->second,
                           buf.shape.size() > 1 ? " (row-major offsets)" : ""),
               {}, -1, int32_t(b));
  }
}

}  // namespace tessera::validate

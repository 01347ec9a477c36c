// Rule "uninitialized": every element a task reads is initialised at step entry (weights,
// constants, the input, state rows before pos) or written by a task that happens before it.
//
// Walking tasks in one legal execution order (the deadlock pass's), the union of regions
// written so far covers every write that happens before the current task. It may also
// hold writes that do not, but such a write overlapping the read is a read-after-write
// race, which the race pass rejects; so for a plan that passes both, "covered by earlier
// writes in this order" is exactly "covered by writes that happen before the read".
// Activation and output regions do not depend on pos (footprint.cpp); a state buffer's
// regions depend on pos only in dimension 0, which is split into rows before pos
// (initialised), row pos (written this step: its columns must be covered) and rows after
// pos (never initialised).
#include <fmt/format.h>

#include "core/error.h"
#include "validate/coverage.h"
#include "validate/describe.h"
#include "validate/passes.h"
#include "validate/pos_range.h"

namespace tessera::validate {

namespace {

const Affine kPos{0, 1};
const Affine kPosPlus1{1, 1};

bool fixed_from(const Region& r, size_t first_dim) {
  for (size_t d = first_dim; d < r.dims.size(); ++d)
    if (r.dims[d].lo.pos != 0 || r.dims[d].hi.pos != 0) return false;
  return true;
}

std::string gap_text(const Buffer& b, std::pair<int64_t, int64_t> gap, size_t first_dim) {
  const bool flat = b.shape.size() - first_dim > 1;
  return fmt::format("[{}:{}]{}", gap.first, gap.second, flat ? " (row-major offsets)" : "");
}

}  // namespace

void check_initialized(const Plan& plan, const Facts& facts, Sink& sink) {
  std::vector<RangeUnion> written(plan.buffers.size());  // state: columns of row pos
  for (int32_t id : facts.order) {
    const Task& t = plan.tasks[size_t(id)];
    for (const Region& r : t.reads) {
      if (sink.full()) return;
      const Buffer& b = plan.buffers[size_t(r.buf)];
      if (b.kind == BufferKind::Weight || b.kind == BufferKind::Constant || b.kind == BufferKind::Input) continue;
      if (b.kind == BufferKind::State) {
        TS_CHECK(fixed_from(r, 1), "state read of task {} depends on pos beyond dimension 0", id);
        PosSet live = region_nonempty(r, plan.context);
        if (live.empty()) continue;
        const Interval& rows = r.dims[0];
        PosSet beyond = live;  // some row > pos: max(lo, pos+1) < min(hi, cap)
        beyond.less(kPosPlus1, rows.hi);
        beyond.less(kPosPlus1, rows.cap);
        if (!beyond.empty()) {
          sink.add("uninitialized",
                   fmt::format("{}: reads {}, whose rows after pos are never initialised", task_label(plan, id),
                               region_text(plan, r, beyond.first())),
                   {id}, -1, r.buf);
          continue;
        }
        PosSet at_pos = live;  // row pos itself: lo <= pos < min(hi, cap)
        at_pos.less_eq(rows.lo, kPos);
        at_pos.less(kPos, rows.hi);
        at_pos.less(kPos, rows.cap);
        if (at_pos.empty()) continue;
        std::optional<std::pair<int64_t, int64_t>> gap;
        for_each_run(r, b.shape, 1, 0, [&](int64_t lo, int64_t hi) {
          if (!gap) gap = written[size_t(r.buf)].first_gap(lo, hi);
        });
        if (gap)
          sink.add("uninitialized",
                   fmt::format("{}: reads {}, but row pos, elements {} of the row, is written by no task that "
                               "happens before it",
                               task_label(plan, id), region_text(plan, r, at_pos.first()),
                               gap_text(b, *gap, 1)),
                   {id}, -1, r.buf);
        continue;
      }
      TS_CHECK(fixed_from(r, 0), "read of task {} in buffer {} depends on pos", id, r.buf);
      std::optional<std::pair<int64_t, int64_t>> gap;
      for_each_run(r, b.shape, 0, 0, [&](int64_t lo, int64_t hi) {
        if (!gap) gap = written[size_t(r.buf)].first_gap(lo, hi);
      });
      if (gap)
        sink.add("uninitialized",
                 fmt::format("{}: reads {}, but elements {} are written by no task that happens before it "
                             "(and {} buffers start uninitialised)",
                             task_label(plan, id), region_text(plan, r, 0), gap_text(b, *gap, 0),
                             buffer_kind_name(b.kind)),
                 {id}, -1, r.buf);
    }
    for (const Region& r : t.writes) {
      const Buffer& b = plan.buffers[size_t(r.buf)];
      const size_t first_dim = b.kind == BufferKind::State ? 1 : 0;
      TS_CHECK(fixed_from(r, first_dim), "write of task {} in buffer {} depends on pos", id, r.buf);
      for_each_run(r, b.shape, first_dim, 0, [&](int64_t lo, int64_t hi) { written[size_t(r.buf)].add(lo, hi); });
    }
  }
}

}  // namespace tessera::validate

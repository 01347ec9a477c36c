// Rule "footprint": the declared reads/writes of every task equal what its opcode does
// (footprint.h), compared as multisets, so every later analysis may trust declared
// regions. Also: a step writes only activation, state and output buffers, and a state
// buffer only at row pos (rows before pos hold the cache every later step relies on).
#include <fmt/format.h>

#include "core/error.h"
#include "plan/footprint.h"
#include "validate/describe.h"
#include "validate/passes.h"

namespace tessera::validate {

namespace {

// The first region of `want` not matched by a distinct region of `have`, or nullptr.
const Region* first_unmatched(const std::vector<Region>& want, const std::vector<Region>& have) {
  std::vector<bool> used(have.size(), false);
  for (const Region& w : want) {
    bool found = false;
    for (size_t i = 0; i < have.size() && !found; ++i)
      if (!used[i] && have[i] == w) used[i] = found = true;
    if (!found) return &w;
  }
  return nullptr;
}

bool compare(const Plan& plan, const Task& t, const std::vector<Region>& declared,
             const std::vector<Region>& implied, const char* verb, Sink& sink) {
  if (const Region* r = first_unmatched(implied, declared)) {
    sink.add("footprint", fmt::format("{}: {} {} (its opcode and parameters imply it) but does not declare it",
                                      task_label(plan, t.id), verb, region_text(plan, *r, 0)),
             {t.id}, -1, r->buf);
    return false;
  }
  if (const Region* r = first_unmatched(declared, implied)) {
    sink.add("footprint", fmt::format("{}: declares that it {} {}, which its opcode and parameters do not imply",
                                      task_label(plan, t.id), verb, region_text(plan, *r, 0)),
             {t.id}, -1, r->buf);
    return false;
  }
  return true;
}

bool is_row_pos(const Interval& i) {
  return i.lo == Affine{0, 1} && i.hi == Affine{1, 1} && i.cap > 0;  // cap > 0: any pos < context
}

}  // namespace

void check_footprints(const Plan& plan, Sink& sink) {
  for (const Task& t : plan.tasks) {
    if (sink.full()) return;
    Footprint f;
    try {
      f = footprint(plan, t);
    } catch (const Error& e) {
      sink.add("footprint", e.what(), {t.id});
      continue;
    }
    if (!compare(plan, t, t.reads, f.reads, "reads", sink)) continue;
    if (!compare(plan, t, t.writes, f.writes, "writes", sink)) continue;
    for (const Region& w : t.writes) {
      const Buffer& b = plan.buffers[size_t(w.buf)];
      if (b.kind == BufferKind::Weight || b.kind == BufferKind::Constant || b.kind == BufferKind::Input) {
        sink.add("footprint", fmt::format("{}: writes {} buffer '{}', which is read-only during a step",
                                          task_label(plan, t.id), buffer_kind_name(b.kind), b.name),
                 {t.id}, -1, w.buf);
        break;
      }
      if (b.kind == BufferKind::State && (w.dims.empty() || !is_row_pos(w.dims[0]))) {
        sink.add("footprint", fmt::format("{}: writes {} of state buffer '{}'; a step may write only row pos",
                                          task_label(plan, t.id), region_text(plan, w, 0), b.name),
                 {t.id}, -1, w.buf);
        break;
      }
    }
  }
}

}  // namespace tessera::validate

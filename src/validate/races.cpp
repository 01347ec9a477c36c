// Rule "race": two tasks touching overlapping regions of a buffer (for some pos), at least
// one writing, must be ordered by happens-before. Comparing all pairs is quadratic (every
// tile of one op reads all of the previous op's output; sibling tiles write disjoint parts
// of one buffer), so each access (read or write) is checked against the buffer's writes
// in whichever of two exact ways is cheaper:
//  - direct: writes are indexed by their dimension-0 extent (sorted by start, with a
//    running maximum of ends), so the few writes that can overlap a tile are found by
//    binary search and each is tested for overlap and order;
//  - per block: when many writes may overlap (a read of a whole buffer), the writes of
//    each block are scanned in queue order. Those with queue index < clock(a)[k] happen
//    before a (one comparison skips them all, usually the whole list); among the rest, the
//    first that a happens before ends the scan (every later write on k follows it). Only
//    writes between, concurrent with a, are tested for overlap.
// Every conflicting pair has a writer, so this covers read-after-write, write-after-write
// and write-after-read. An unordered read/write pair is named write-after-read when some
// other write that happens before the reader covers the shared elements (the reader meant
// the older value), and read-after-write otherwise (the unordered write is its source).
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <set>

#include "validate/describe.h"
#include "validate/passes.h"
#include "validate/pos_range.h"

namespace tessera::validate {

namespace {

struct WriteRef {
  int32_t index;  // queue index of the task
  int32_t task;
  const Region* region;
  int64_t lo, hi;  // dimension-0 extent over every pos (a superset of the region's)
};

struct BlockWrites {
  int32_t block;
  std::vector<WriteRef> writes;  // in queue order
};

struct BufferWrites {
  std::vector<BlockWrites> blocks;
  std::vector<WriteRef> by_lo;   // sorted by lo
  std::vector<int64_t> max_hi;   // max_hi[i] = max of by_lo[0..i].hi
};

// Bounds only grow with pos: the extent over all pos runs from lo at pos 0 to hi at the last.
std::pair<int64_t, int64_t> extent(const Region& r, int64_t context) {
  if (r.dims.empty()) return {0, 1};
  return {r.dims[0].lo_at(0), r.dims[0].hi_at(context - 1)};
}

// "buffer 'x' [2:4]" for the intersection of two regions at `pos`.
std::string overlap_text(const Plan& plan, const Region& a, const Region& b, int64_t pos) {
  std::string s = fmt::format("buffer {} [", buffer_name(plan, a.buf));
  for (size_t d = 0; d < a.dims.size(); ++d)
    s += fmt::format("{}{}:{}", d ? ", " : "", std::max(a.dims[d].lo_at(pos), b.dims[d].lo_at(pos)),
                     std::min(a.dims[d].hi_at(pos), b.dims[d].hi_at(pos)));
  s += "]";
  if (depends_on_pos(a) || depends_on_pos(b)) s += fmt::format(" at pos {}", pos);
  return s;
}

class RaceCheck {
 public:
  RaceCheck(const Plan& plan, const Facts& facts, Sink& sink)
      : plan_(plan), facts_(facts), sink_(sink), writes_(plan.buffers.size()) {
    // Tasks visited in queue order keep each block's list sorted.
    for (size_t b = 0; b < plan.queues.size(); ++b)
      for (int32_t id : plan.queues[b])
        for (const Region& r : plan.tasks[size_t(id)].writes) {
          auto& lists = writes_[size_t(r.buf)].blocks;
          if (lists.empty() || lists.back().block != int32_t(b)) lists.push_back({int32_t(b), {}});
          auto [lo, hi] = extent(r, plan.context);
          lists.back().writes.push_back({facts.queue_index[size_t(id)], id, &r, lo, hi});
        }
    for (BufferWrites& bw : writes_) {
      for (const BlockWrites& l : bw.blocks) bw.by_lo.insert(bw.by_lo.end(), l.writes.begin(), l.writes.end());
      std::sort(bw.by_lo.begin(), bw.by_lo.end(), [](const WriteRef& x, const WriteRef& y) {
        return x.lo != y.lo ? x.lo < y.lo : x.task < y.task;
      });
      int64_t m = std::numeric_limits<int64_t>::min();
      for (const WriteRef& w : bw.by_lo) bw.max_hi.push_back(m = std::max(m, w.hi));
    }
  }

  void run() {
    for (const Task& t : plan_.tasks) {
      for (const Region& r : t.reads) {
        if (sink_.full()) return;
        if (!writes_[size_t(r.buf)].by_lo.empty()) check(t.id, r, false);
      }
      for (const Region& r : t.writes) {
        if (sink_.full()) return;
        check(t.id, r, true);
      }
    }
  }

 private:
  bool ordered(int32_t a, int32_t b) const { return facts_.before(plan_, a, b) || facts_.before(plan_, b, a); }

  // Reports a race between access (a, r) and write w when they overlap; true if reported
  // (or already reported for this pair).
  bool conflict(int32_t a, const Region& r, bool a_writes, const WriteRef& w) {
    PosSet at = regions_overlap(r, *w.region, plan_.context);
    if (at.empty()) return false;
    if (!reported_.insert({std::min(a, w.task), std::max(a, w.task)}).second) return true;
    std::string kind;
    int32_t first, second;  // as the message names them
    if (a_writes) {
      kind = "write-after-write";
      first = std::min(a, w.task);
      second = std::max(a, w.task);
    } else if (ordered_source(a, r, *w.region)) {
      kind = "write-after-read";
      first = a;
      second = w.task;
    } else {
      kind = "read-after-write";
      first = w.task;
      second = a;
    }
    auto verb = [&](int32_t t) { return t == a && !a_writes ? "reads" : "writes"; };
    sink_.add("race",
              fmt::format("{} race on {}: {} {} it and {} {} it, and neither happens before the other", kind,
                          overlap_text(plan_, r, *w.region, at.first()), task_label(plan_, first), verb(first),
                          task_label(plan_, second), verb(second)),
              {second, first}, -1, r.buf);
    return true;
  }

  // Whether a write other than `unordered`, happening before reader `a`, shares elements
  // with both the read and the unordered write. Intervals meeting pairwise share a point
  // (Helly in one dimension), so three pairwise overlaps per dimension say the three boxes
  // share an element. Error path only.
  bool ordered_source(int32_t a, const Region& r, const Region& unordered) const {
    for (const BlockWrites& bw : writes_[size_t(r.buf)].blocks)
      for (const WriteRef& w : bw.writes) {
        if (w.index >= facts_.clock(a)[size_t(bw.block)]) break;
        if (w.region == &unordered) continue;
        PosSet at(plan_.context);
        for (size_t d = 0; d < r.dims.size(); ++d) {
          at.overlap(r.dims[d], unordered.dims[d]);
          at.overlap(r.dims[d], w.region->dims[d]);
          at.overlap(unordered.dims[d], w.region->dims[d]);
        }
        if (!at.empty()) return true;
      }
    return false;
  }

  void check(int32_t a, const Region& r, bool a_writes) {
    const BufferWrites& bw = writes_[size_t(r.buf)];
    const auto [lo, hi] = extent(r, plan_.context);
    // Writes that may overlap [lo, hi) in dimension 0 lie in [i0, i1) of by_lo.
    const size_t i0 = size_t(std::upper_bound(bw.max_hi.begin(), bw.max_hi.end(), lo) - bw.max_hi.begin());
    const size_t i1 = size_t(std::lower_bound(bw.by_lo.begin(), bw.by_lo.end(), hi,
                                              [](const WriteRef& w, int64_t v) { return w.lo < v; }) -
                             bw.by_lo.begin());
    if (i1 <= i0) return;
    if (i1 - i0 <= bw.blocks.size()) {
      for (size_t i = i0; i < i1; ++i) {
        const WriteRef& w = bw.by_lo[i];
        if (w.task == a || w.hi <= lo || ordered(a, w.task)) continue;
        if (conflict(a, r, a_writes, w)) return;
      }
      return;
    }
    const int32_t* ca = facts_.clock(a);
    for (const BlockWrites& l : bw.blocks) {
      const auto& list = l.writes;
      const int32_t seen = ca[size_t(l.block)];
      if (list.back().index < seen) continue;  // all happen before a
      auto it = std::lower_bound(list.begin(), list.end(), seen,
                                 [](const WriteRef& w, int32_t v) { return w.index < v; });
      for (; it != list.end(); ++it) {
        if (it->task == a) continue;
        if (facts_.before(plan_, a, it->task)) break;  // this write and all later ones follow a
        if (it->hi <= lo || it->lo >= hi) continue;
        if (conflict(a, r, a_writes, *it)) return;
      }
    }
  }

  const Plan& plan_;
  const Facts& facts_;
  Sink& sink_;
  std::vector<BufferWrites> writes_;
  std::set<std::pair<int32_t, int32_t>> reported_;
};

}  // namespace

void check_races(const Plan& plan, const Facts& facts, Sink& sink) { RaceCheck(plan, facts, sink).run(); }

}  // namespace tessera::validate

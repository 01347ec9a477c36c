// Regions are walked as spans along their last dimension, and each span as the history runs
// it covers (shadow_state.h): a check per run, not per element.
#include "emulate/shadow_state.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace tessera {

namespace {

// Calls fn(offset, length) for the runs of region `r` (evaluated at pos, clamped to the
// buffer) along the last dimension, in row-major order. dims_lo/hi receive the box.
template <typename Fn>
void for_each_run(const Region& r, const std::vector<int64_t>& shape, int64_t pos, Fn fn) {
  const size_t n = shape.size();
  if (n == 0 || r.dims.size() != n) return;
  std::vector<int64_t> lo(n), hi(n);
  for (size_t d = 0; d < n; ++d) {
    lo[d] = std::max<int64_t>(r.dims[d].lo_at(pos), 0);
    hi[d] = std::min<int64_t>(r.dims[d].hi_at(pos), shape[d]);
    if (lo[d] >= hi[d]) return;
  }
  std::vector<int64_t> idx(lo.begin(), lo.end());
  for (;;) {
    int64_t off = 0;
    for (size_t d = 0; d < n; ++d) off = off * shape[d] + idx[d];
    fn(off, hi[n - 1] - lo[n - 1]);
    // odometer over the leading dimensions
    size_t d = n - 1;
    for (;;) {
      if (d == 0) return;
      --d;
      if (++idx[d] < hi[d]) break;
      idx[d] = lo[d];
    }
  }
}

}  // namespace

ShadowState::ShadowState(const Plan& plan, const HappensBefore& hb) : plan_(plan), hb_(hb) {
  bufs_.resize(plan.buffers.size());
  for (const Buffer& b : plan.buffers) {
    Tracked& t = bufs_[size_t(b.id)];
    if (b.kind == BufferKind::Activation || b.kind == BufferKind::Output) {
      int64_t n = 1;
      for (int64_t d : b.shape) n *= d;
      t.tracked = true;
      t.size = n;
    } else if (b.kind == BufferKind::State && b.shape.size() >= 1) {
      int64_t row = 1;
      for (size_t d = 1; d < b.shape.size(); ++d) row *= b.shape[d];
      t.tracked = t.state = true;
      t.row_elems = row;
      t.size = row;
    }
  }
}

void ShadowState::begin_step(int64_t step, int64_t pos) {
  step_ = step;
  pos_ = pos;
  for (Tracked& t : bufs_) {
    t.runs.clear();
    if (t.tracked && t.size > 0) t.runs.push_back(Run{0, Cell{}});
  }
  read_sets_.assign(1, {});
  add_memo_.clear();
}

size_t ShadowState::split(Tracked& tb, int64_t at) {
  if (at >= tb.size) return tb.runs.size();
  auto it = std::upper_bound(tb.runs.begin(), tb.runs.end(), at,
                             [](int64_t v, const Run& r) { return v < r.begin; });
  const size_t i = size_t(it - tb.runs.begin()) - 1;  // runs[0].begin == 0 <= at
  if (tb.runs[i].begin == at) return i;
  tb.runs.insert(tb.runs.begin() + std::ptrdiff_t(i + 1), Run{at, tb.runs[i].cell});
  return i + 1;
}

void ShadowState::coalesce(Tracked& tb, size_t i0, size_t i1) {
  const size_t first = i0 > 0 ? i0 - 1 : 0, last = std::min(i1, tb.runs.size() - 1);
  size_t out = first;
  for (size_t i = first + 1; i <= last; ++i)
    if (!(tb.runs[i].cell == tb.runs[out].cell)) tb.runs[++out] = tb.runs[i];
  if (out < last) tb.runs.erase(tb.runs.begin() + std::ptrdiff_t(out + 1), tb.runs.begin() + std::ptrdiff_t(last + 1));
}

std::string ShadowState::task_name(int32_t task) const {
  const Task& t = plan_.tasks[size_t(task)];
  return fmt::format("task {} (block {}, {})", t.id, t.sm, op_name(t.op));
}

std::string ShadowState::element_name(int32_t buf, int64_t flat) const {
  const std::vector<int64_t>& shape = plan_.buffers[size_t(buf)].shape;
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return fmt::format("[{}]", fmt::join(idx, ", "));
}

std::string ShadowState::region_name(const Region& r) const {
  std::vector<std::string> dims;
  for (const Interval& i : r.dims) dims.push_back(fmt::format("[{}, {})", i.lo_at(pos_), i.hi_at(pos_)));
  return fmt::format("{}", fmt::join(dims, " x "));
}

void ShadowState::race(int32_t task, const char* access, int32_t other, const char* other_access,
                       const Region& r, int64_t flat) const {
  fail("race at step {} (pos {}) on buffer '{}' element {}: {} {} it (region {}), but the {} by {} "
       "is not ordered before that (no wait makes it happen-before)",
       step_, pos_, plan_.buffers[size_t(r.buf)].name, element_name(r.buf, flat), task_name(task),
       access, region_name(r), other_access, task_name(other));
}

int32_t ShadowState::add_reader(int32_t set, int32_t task) {
  const uint64_t key = (uint64_t(uint32_t(set)) << 32) | uint32_t(task);
  auto it = add_memo_.find(key);
  if (it != add_memo_.end()) return it->second;
  // Readers ordered before `task` are implied by it: any later writer must be ordered after
  // `task`, hence after them.
  std::vector<int32_t> next;
  for (int32_t r : read_sets_[size_t(set)])
    if (!hb_.ordered(r, task)) next.push_back(r);
  next.push_back(task);
  read_sets_.push_back(std::move(next));
  const int32_t id = int32_t(read_sets_.size() - 1);
  add_memo_.emplace(key, id);
  return id;
}

void ShadowState::read_span(int32_t task, const Region& r, Tracked& tb, int64_t lo, int64_t len,
                            int64_t flat0) {
  const Buffer& b = plan_.buffers[size_t(r.buf)];
  const size_t i0 = split(tb, lo), i1 = split(tb, lo + len);
  for (size_t i = i0; i < i1; ++i) {
    Cell& c = tb.runs[i].cell;
    const int64_t flat = flat0 + (tb.runs[i].begin - lo);
    if (c.writer < 0)
      fail("uninitialized read at step {} (pos {}): {} reads buffer '{}' element {} (region {}), "
           "which no task wrote before it this step",
           step_, pos_, task_name(task), b.name, element_name(r.buf, flat), region_name(r));
    if (!hb_.ordered(c.writer, task)) race(task, "reads", c.writer, "write", r, flat);
    c.readers = add_reader(c.readers, task);
  }
  coalesce(tb, i0, i1);
}

void ShadowState::write_span(int32_t task, const Region& r, Tracked& tb, int64_t lo, int64_t len,
                             int64_t flat0) {
  const size_t i0 = split(tb, lo), i1 = split(tb, lo + len);
  for (size_t i = i0; i < i1; ++i) {
    const Cell& c = tb.runs[i].cell;
    const int64_t flat = flat0 + (tb.runs[i].begin - lo);
    if (c.writer >= 0 && !hb_.ordered(c.writer, task)) race(task, "writes", c.writer, "earlier write", r, flat);
    for (int32_t reader : read_sets_[size_t(c.readers)])
      if (!hb_.ordered(reader, task)) race(task, "writes", reader, "read", r, flat);
  }
  tb.runs[i0].cell = Cell{task, 0};
  tb.runs.erase(tb.runs.begin() + std::ptrdiff_t(i0 + 1), tb.runs.begin() + std::ptrdiff_t(i1));
  coalesce(tb, i0, i0 + 1);
}

void ShadowState::read(int32_t task, const Region& r) {
  Tracked& tb = bufs_[size_t(r.buf)];
  if (!tb.tracked) return;
  const Buffer& b = plan_.buffers[size_t(r.buf)];
  if (!tb.state) {
    for_each_run(r, b.shape, pos_, [&](int64_t off, int64_t len) { read_span(task, r, tb, off, len, off); });
    return;
  }
  // State: rows < pos were written by earlier steps; row pos by this one; later rows never.
  for_each_run(r, b.shape, pos_, [&](int64_t off, int64_t len) {
    const int64_t row = off / tb.row_elems, col = off % tb.row_elems;
    if (row < pos_) return;
    if (row > pos_)
      fail("uninitialized read at step {} (pos {}): {} reads buffer '{}' element {} (region {}), "
           "a row past the current position that no step has written",
           step_, pos_, task_name(task), b.name, element_name(r.buf, off), region_name(r));
    read_span(task, r, tb, col, len, off);
  });
}

void ShadowState::write(int32_t task, const Region& r) {
  Tracked& tb = bufs_[size_t(r.buf)];
  if (!tb.tracked) return;
  const Buffer& b = plan_.buffers[size_t(r.buf)];
  if (!tb.state) {
    for_each_run(r, b.shape, pos_, [&](int64_t off, int64_t len) { write_span(task, r, tb, off, len, off); });
    return;
  }
  for_each_run(r, b.shape, pos_, [&](int64_t off, int64_t len) {
    const int64_t row = off / tb.row_elems, col = off % tb.row_elems;
    TS_CHECK(row == pos_, "{} writes row {} of state '{}' at pos {}", task_name(task), row, b.name, pos_);
    write_span(task, r, tb, col, len, off);
  });
}

void ShadowState::access(int32_t task, const Footprint& f) {
  for (const Region& r : f.reads) read(task, r);
  for (const Region& r : f.writes) write(task, r);
}

void ShadowState::check_outputs() const {
  for (int32_t id : plan_.outputs) {
    const Tracked& tb = bufs_[size_t(id)];
    for (const Run& run : tb.runs)
      if (run.cell.writer < 0)
        fail("output buffer '{}' element {} was not written by any task at step {} (pos {})",
             plan_.buffers[size_t(id)].name, element_name(id, run.begin), step_, pos_);
  }
}

}  // namespace tessera

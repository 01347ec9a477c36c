// Regions are walked as runs along their last dimension; consecutive elements almost always
// share their history, so each run checks a (writer, read set) pair once and reuses the
// answer while it repeats.
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
      t.cells.resize(size_t(n));
    } else if (b.kind == BufferKind::State && b.shape.size() >= 1) {
      int64_t row = 1;
      for (size_t d = 1; d < b.shape.size(); ++d) row *= b.shape[d];
      t.tracked = t.state = true;
      t.row_elems = row;
      t.cells.resize(size_t(row));
    }
  }
}

void ShadowState::begin_step(int64_t step, int64_t pos) {
  step_ = step;
  pos_ = pos;
  for (Tracked& t : bufs_) std::fill(t.cells.begin(), t.cells.end(), Cell{});
  read_sets_.assign(1, {});
  add_memo_.clear();
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

void ShadowState::read(int32_t task, const Region& r) {
  Tracked& tb = bufs_[size_t(r.buf)];
  if (!tb.tracked) return;
  const Buffer& b = plan_.buffers[size_t(r.buf)];
  auto cells_read = [&](Cell* cells, int64_t flat0, int64_t len) {
    int32_t seen_writer = -2, seen_in = -1, seen_out = -1;
    for (int64_t i = 0; i < len; ++i) {
      Cell& c = cells[i];
      if (c.writer != seen_writer) {
        if (c.writer < 0)
          fail("uninitialized read at step {} (pos {}): {} reads buffer '{}' element {} (region {}), "
               "which no task wrote before it this step",
               step_, pos_, task_name(task), b.name, element_name(r.buf, flat0 + i), region_name(r));
        if (!hb_.ordered(c.writer, task)) race(task, "reads", c.writer, "write", r, flat0 + i);
        seen_writer = c.writer;
      }
      if (c.readers != seen_in) {
        seen_in = c.readers;
        seen_out = add_reader(c.readers, task);
      }
      c.readers = seen_out;
    }
  };
  if (!tb.state) {
    for_each_run(r, b.shape, pos_, [&](int64_t off, int64_t len) { cells_read(tb.cells.data() + off, off, len); });
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
    cells_read(tb.cells.data() + col, off, len);
  });
}

void ShadowState::write(int32_t task, const Region& r) {
  Tracked& tb = bufs_[size_t(r.buf)];
  if (!tb.tracked) return;
  const Buffer& b = plan_.buffers[size_t(r.buf)];
  auto cells_write = [&](Cell* cells, int64_t flat0, int64_t len) {
    int32_t seen_writer = -2, seen_readers = -1;
    for (int64_t i = 0; i < len; ++i) {
      Cell& c = cells[i];
      if (c.writer != seen_writer || c.readers != seen_readers) {
        if (c.writer >= 0 && !hb_.ordered(c.writer, task)) race(task, "writes", c.writer, "earlier write", r, flat0 + i);
        for (int32_t reader : read_sets_[size_t(c.readers)])
          if (!hb_.ordered(reader, task)) race(task, "writes", reader, "read", r, flat0 + i);
        seen_writer = c.writer;
        seen_readers = c.readers;
      }
      c.writer = task;
      c.readers = 0;
    }
  };
  if (!tb.state) {
    for_each_run(r, b.shape, pos_, [&](int64_t off, int64_t len) { cells_write(tb.cells.data() + off, off, len); });
    return;
  }
  for_each_run(r, b.shape, pos_, [&](int64_t off, int64_t len) {
    const int64_t row = off / tb.row_elems, col = off % tb.row_elems;
    TS_CHECK(row == pos_, "{} writes row {} of state '{}' at pos {}", task_name(task), row, b.name, pos_);
    cells_write(tb.cells.data() + col, off, len);
  });
}

void ShadowState::access(int32_t task, const Footprint& f) {
  for (const Region& r : f.reads) read(task, r);
  for (const Region& r : f.writes) write(task, r);
}

void ShadowState::check_outputs() const {
  for (int32_t id : plan_.outputs) {
    const Tracked& tb = bufs_[size_t(id)];
    for (size_t i = 0; i < tb.cells.size(); ++i)
      if (tb.cells[i].writer < 0)
        fail("output buffer '{}' element {} was not written by any task at step {} (pos {})",
             plan_.buffers[size_t(id)].name, element_name(id, int64_t(i)), step_, pos_);
  }
}

}  // namespace tessera

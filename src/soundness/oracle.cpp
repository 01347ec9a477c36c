// Abstract execution of a plan (oracle.h). Structure is checked first, with the plan's own
// vectors bounds-checked before any use, so hostile plans are labelled "malformed" instead of
// crashing; then each position runs random schedules (and all schedules for tiny plans).
#include "soundness/oracle.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>

#include "core/error.h"
#include "plan/footprint.h"
#include "soundness/rng.h"

namespace tessera::soundness {

namespace {

constexpr int64_t kMaxId = std::numeric_limits<int32_t>::max();

struct Box {
  int32_t buf = 0;
  std::vector<int64_t> lo, hi;  // per dimension, half-open, evaluated at one pos
  bool empty() const {
    for (size_t d = 0; d < lo.size(); ++d)
      if (lo[d] >= hi[d]) return true;
    return false;
  }
};

bool overlap(const Box& a, const Box& b) {
  for (size_t d = 0; d < a.lo.size(); ++d)
    if (std::max(a.lo[d], b.lo[d]) >= std::min(a.hi[d], b.hi[d])) return false;
  return true;
}

// A task's accesses after the structural checks: the footprint its opcode implies.
struct TaskInfo {
  std::vector<Region> reads, writes;
};

struct Access {
  Box box;
  int32_t task;
  int32_t block;
  uint32_t epoch;  // the block's clock component when it ran
  bool write;
};

bool read_only(BufferKind k) {
  return k == BufferKind::Weight || k == BufferKind::Constant || k == BufferKind::Input;
}

struct Problem {
  std::string kind, detail;
};

// Everything about the plan an execution needs, computed once.
struct Prepared {
  const Plan* plan = nullptr;
  std::vector<TaskInfo> tasks;
  size_t blocks = 0;
  size_t capacity = 0;  // co-resident blocks
  std::vector<size_t> elems;        // per buffer (0 for read-only ones: not tracked)
  std::vector<std::vector<int64_t>> strides;
};

std::string task_name(const Plan& p, int32_t t) {
  const Task& k = p.tasks[size_t(t)];
  return fmt::format("task {} ({}, block {})", t, op_name(k.op), k.sm);
}

// Structural checks; returns the reason the plan is malformed, if it is.
std::optional<std::string> prepare(const Plan& plan, const OracleOptions& o, Prepared* out, bool* too_large) {
  Prepared& pr = *out;
  pr.plan = &plan;
  if (plan.context < 1) return fmt::format("context {} < 1", plan.context);
  const int64_t cap = int64_t(plan.target.sms) * int64_t(plan.target.max_blocks_per_sm);
  if (plan.target.sms < 1 || plan.target.max_blocks_per_sm < 1) return std::string("target has no SMs");
  if (plan.resources.smem_bytes > plan.target.smem_per_block || plan.resources.threads > plan.target.threads_per_block ||
      plan.resources.regs_per_thread > plan.target.regs_per_thread || plan.resources.threads < 1)
    return std::string("block resources exceed the target (the kernel would not launch)");
  pr.capacity = size_t(cap);
  pr.blocks = plan.queues.size();
  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    const Buffer& b = plan.buffers[i];
    if (b.id != int32_t(i)) return fmt::format("buffer {} has id {}", i, b.id);
    if (b.shape.empty() || b.shape.size() > 8) return fmt::format("buffer {} has rank {}", i, b.shape.size());
    for (int64_t d : b.shape)
      if (d < 1) return fmt::format("buffer {} has a dimension of {}", i, d);
  }
  for (size_t i = 0; i < plan.counters.size(); ++i)
    if (plan.counters[i].id != int32_t(i)) return fmt::format("counter {} has id {}", i, plan.counters[i].id);
  // Queues: every task exactly once, in the queue its `sm` names.
  std::vector<int> seen(plan.tasks.size(), 0);
  for (size_t b = 0; b < plan.queues.size(); ++b)
    for (int32_t t : plan.queues[b]) {
      if (t < 0 || size_t(t) >= plan.tasks.size()) return fmt::format("queue {} names task {} (of {})", b, t, plan.tasks.size());
      if (seen[size_t(t)]++) return fmt::format("task {} is queued twice", t);
      if (plan.tasks[size_t(t)].sm != int32_t(b)) return fmt::format("task {} sits in queue {} but names block {}", t, b, plan.tasks[size_t(t)].sm);
    }
  for (size_t t = 0; t < plan.tasks.size(); ++t) {
    const Task& k = plan.tasks[t];
    if (k.id != int32_t(t)) return fmt::format("task {} has id {}", t, k.id);
    if (!seen[t]) return fmt::format("task {} is in no queue", t);
    for (const Wait& w : k.waits) {
      if (w.counter < 0 || size_t(w.counter) >= plan.counters.size()) return fmt::format("task {} waits on counter {} (of {})", t, w.counter, plan.counters.size());
      if (w.threshold < 1 || w.threshold > kMaxId) return fmt::format("task {} waits for threshold {}", t, w.threshold);
    }
    for (const Signal& s : k.signals) {
      if (s.counter < 0 || size_t(s.counter) >= plan.counters.size()) return fmt::format("task {} signals counter {} (of {})", t, s.counter, plan.counters.size());
      if (s.inc < 1 || s.inc > kMaxId) return fmt::format("task {} signals increment {}", t, s.inc);
    }
  }
  for (int32_t b : plan.outputs)
    if (b < 0 || size_t(b) >= plan.buffers.size()) return fmt::format("output buffer {} (of {})", b, plan.buffers.size());
  for (int32_t b : {plan.token_input, plan.token_output})
    if (b < -1 || b >= int32_t(plan.buffers.size())) return fmt::format("token buffer {} (of {})", b, plan.buffers.size());
  // What each task touches is what its opcode and operands imply; declared regions that say
  // otherwise would mislead every consumer that trusts them.
  pr.tasks.resize(plan.tasks.size());
  for (size_t t = 0; t < plan.tasks.size(); ++t) {
    const Task& k = plan.tasks[t];
    Footprint f;
    try {
      f = footprint(plan, k);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    if (f.reads != k.reads || f.writes != k.writes) return fmt::format("task {}: declared regions differ from its opcode's footprint", t);
    for (const auto* list : {&f.reads, &f.writes})
      for (const Region& r : *list) {
        if (r.buf < 0 || size_t(r.buf) >= plan.buffers.size()) return fmt::format("task {} touches buffer {}", t, r.buf);
        const Buffer& b = plan.buffers[size_t(r.buf)];
        if (r.dims.size() != b.shape.size()) return fmt::format("task {}: region rank {} in buffer '{}' of rank {}", t, r.dims.size(), b.name, b.shape.size());
        for (size_t d = 0; d < r.dims.size(); ++d) {
          const Interval& iv = r.dims[d];
          if ((iv.lo.pos != 0 && iv.lo.pos != 1) || (iv.hi.pos != 0 && iv.hi.pos != 1)) return fmt::format("task {}: pos coefficient not 0/1", t);
          constexpr int64_t kHuge = int64_t(1) << 60;  // keeps c + pos from overflowing
          if (std::abs(iv.lo.c) > kHuge || std::abs(iv.hi.c) > kHuge) return fmt::format("task {}: region bound beyond 2^60", t);
          // lo and min(hi, cap) are monotone in pos with one kink (where cap starts to bind),
          // so the ends of [0, context) and the points around the kink cover every pos.
          const int64_t last = plan.context - 1;
          const int64_t cap = std::min(iv.cap, kHuge);
          for (int64_t p : {int64_t(0), last, cap - iv.hi.c - 1, cap - iv.hi.c, cap - iv.lo.c - 1}) {
            p = std::clamp<int64_t>(p, 0, last);
            const int64_t lo = iv.lo_at(p), hi = iv.hi_at(p);
            if (lo < hi && (lo < 0 || hi > b.shape[d])) return fmt::format("task {}: region [{}, {}) outside dimension {} of '{}' at pos {}", t, lo, hi, d, b.name, p);
          }
        }
      }
    pr.tasks[t] = TaskInfo{std::move(f.reads), std::move(f.writes)};
  }
  size_t total = 0;
  pr.elems.assign(plan.buffers.size(), 0);
  pr.strides.assign(plan.buffers.size(), {});
  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    const Buffer& b = plan.buffers[i];
    if (read_only(b.kind)) continue;
    size_t n = 1;
    for (int64_t d : b.shape) {
      if (d < 1 || d > int64_t(o.max_tracked_elements)) { *too_large = true; return std::nullopt; }
      n *= size_t(d);
      if (n > o.max_tracked_elements) { *too_large = true; return std::nullopt; }
    }
    total += n;
    if (total > o.max_tracked_elements) { *too_large = true; return std::nullopt; }
    pr.elems[i] = n;
    std::vector<int64_t> s(b.shape.size(), 1);
    for (size_t d = b.shape.size(); d-- > 1;) s[d - 1] = s[d] * b.shape[d];
    pr.strides[i] = std::move(s);
  }
  return std::nullopt;
}

// Calls f(offset, length) for each innermost run of a box.
template <typename F>
void for_runs(const Box& b, const std::vector<int64_t>& stride, F f) {
  const size_t r = b.lo.size();
  std::vector<int64_t> idx(b.lo.begin(), b.lo.end());
  const int64_t len = b.hi[r - 1] - b.lo[r - 1];
  while (true) {
    int64_t off = 0;
    for (size_t d = 0; d < r; ++d) off += idx[d] * stride[d];
    f(size_t(off), size_t(len));
    size_t d = r - 1;
    while (d-- > 0) {
      if (++idx[d] < b.hi[d]) break;
      idx[d] = b.lo[d];
    }
    if (d == size_t(-1)) return;
    // d is unsigned; the loop above exits with d == SIZE_MAX when every outer index wrapped.
  }
}

// One schedule in progress. Copyable: the exhaustive search forks it at every choice.
class Execution {
 public:
  Execution(const Prepared& pr, int64_t pos) : pr_(&pr), pos_(pos) {
    const Plan& p = *pr.plan;
    next_.assign(pr.blocks, 0);
    resident_.assign(pr.blocks, 0);
    vc_.assign(pr.blocks, std::vector<uint32_t>(pr.blocks, 0));
    value_.assign(p.counters.size(), 0);
    cclock_.assign(p.counters.size(), std::vector<uint32_t>(pr.blocks, 0));
    written_.resize(p.buffers.size());
    access_.resize(p.buffers.size());
    for (size_t i = 0; i < p.buffers.size(); ++i) {
      if (!pr.elems[i]) continue;
      written_[i].assign(pr.elems[i], 0);
      const Buffer& b = p.buffers[i];
      if (b.kind == BufferKind::State) {  // rows [0, pos) of dimension 0 hold earlier steps
        const size_t row = size_t(pr.strides[i][0]);
        std::fill(written_[i].begin(), written_[i].begin() + std::min(written_[i].size(), size_t(pos) * row), 1);
      }
    }
    remaining_ = p.tasks.size();
  }

  // Admits up to the co-residency limit; order[] says which waiting blocks go first.
  void admit(const std::vector<size_t>& order) {
    for (size_t b : order) {
      if (admitted_ >= pr_->capacity) return;
      if (!resident_[b] && next_[b] < pr_->plan->queues[b].size()) { resident_[b] = 1; ++admitted_; }
    }
  }
  bool finished() const { return remaining_ == 0; }
  bool runnable(size_t b) const {
    if (!resident_[b] || next_[b] >= pr_->plan->queues[b].size()) return false;
    const Task& t = pr_->plan->tasks[size_t(pr_->plan->queues[b][next_[b]])];
    for (const Wait& w : t.waits)
      if (value_[size_t(w.counter)] < w.threshold) return false;
    return true;
  }
  std::vector<size_t> runnable_blocks() const {
    std::vector<size_t> r;
    for (size_t b = 0; b < pr_->blocks; ++b)
      if (runnable(b)) r.push_back(b);
    return r;
  }
  // Runs block b's next task; returns a problem if it exposes one.
  std::optional<Problem> run(size_t b, const std::vector<size_t>& admit_order);
  std::optional<Problem> deadlock() const;
  std::optional<Problem> outputs() const;

 private:
  std::optional<Problem> access(int32_t task, const Region& r, bool write);

  const Prepared* pr_;
  int64_t pos_;
  std::vector<size_t> next_;
  std::vector<uint8_t> resident_;
  size_t admitted_ = 0;
  std::vector<std::vector<uint32_t>> vc_;
  std::vector<int64_t> value_;
  std::vector<std::vector<uint32_t>> cclock_;
  std::vector<std::vector<uint8_t>> written_;
  // Shared between forks until one appends (copy-on-write keeps DFS forks cheap).
  std::vector<std::shared_ptr<std::vector<Access>>> access_;
  size_t remaining_ = 0;
};

std::optional<Problem> Execution::access(int32_t task, const Region& r, bool write) {
  const Plan& p = *pr_->plan;
  const Buffer& buf = p.buffers[size_t(r.buf)];
  Box box{r.buf, {}, {}};
  for (const Interval& iv : r.dims) {
    box.lo.push_back(iv.lo_at(pos_));
    box.hi.push_back(iv.hi_at(pos_));
  }
  if (box.empty()) return std::nullopt;
  for (size_t d = 0; d < box.lo.size(); ++d)  // prepare() proved this; never index outside
    if (box.lo[d] < 0 || box.hi[d] > buf.shape[d])
      return Problem{"malformed", fmt::format("{} touches '{}' outside its bounds at pos {}", task_name(p, task), buf.name, pos_)};
  if (read_only(buf.kind)) {
    if (write) return Problem{"readonly-write", fmt::format("{} writes {} buffer '{}'", task_name(p, task), buffer_kind_name(buf.kind), buf.name)};
    return std::nullopt;
  }
  if (write && buf.kind == BufferKind::State && (box.lo[0] != pos_ || box.hi[0] != pos_ + 1))
    return Problem{"state-write", fmt::format("{} writes rows [{}, {}) of state '{}' at pos {} (only row pos may change)", task_name(p, task), box.lo[0], box.hi[0], buf.name, pos_)};
  const int32_t block = p.tasks[size_t(task)].sm;
  const std::vector<uint32_t>& now = vc_[size_t(block)];
  auto& list = access_[size_t(r.buf)];
  if (list) {
    for (const Access& a : *list) {
      if (!write && !a.write) continue;
      if (now[size_t(a.block)] >= a.epoch) continue;  // a happens-before this access
      if (!overlap(a.box, box)) continue;
      return Problem{"race", fmt::format("{} {} and {} {} overlapping elements of '{}' at pos {} without happens-before",
                                         task_name(p, a.task), a.write ? "writes" : "reads", task_name(p, task),
                                         write ? "writes" : "reads", buf.name, pos_)};
    }
  }
  auto& bits = written_[size_t(r.buf)];
  const auto& stride = pr_->strides[size_t(r.buf)];
  if (write) {
    for_runs(box, stride, [&](size_t off, size_t n) { std::fill(bits.begin() + off, bits.begin() + off + n, 1); });
  } else {
    bool ok = true;
    for_runs(box, stride, [&](size_t off, size_t n) {
      if (ok && std::find(bits.begin() + off, bits.begin() + off + n, 0) != bits.begin() + off + n) ok = false;
    });
    if (!ok) return Problem{"uninitialized", fmt::format("{} reads elements of '{}' no task has written at pos {}", task_name(p, task), buf.name, pos_)};
  }
  if (!list) list = std::make_shared<std::vector<Access>>();
  else if (list.use_count() > 1) list = std::make_shared<std::vector<Access>>(*list);
  list->push_back(Access{std::move(box), task, block, now[size_t(block)], write});
  return std::nullopt;
}

std::optional<Problem> Execution::run(size_t b, const std::vector<size_t>& admit_order) {
  const Plan& p = *pr_->plan;
  const int32_t t = p.queues[b][next_[b]];
  const Task& task = p.tasks[size_t(t)];
  std::vector<uint32_t>& vc = vc_[b];
  for (const Wait& w : task.waits) {  // acquire every release so far on the counter
    const auto& c = cclock_[size_t(w.counter)];
    for (size_t i = 0; i < vc.size(); ++i) vc[i] = std::max(vc[i], c[i]);
  }
  vc[b] = uint32_t(next_[b] + 1);
  const TaskInfo& info = pr_->tasks[size_t(t)];
  for (const Region& r : info.reads)
    if (auto e = access(t, r, false)) return e;
  for (const Region& r : info.writes)
    if (auto e = access(t, r, true)) return e;
  for (const Signal& s : task.signals) {
    value_[size_t(s.counter)] += s.inc;  // bounded: < 2^31 per signal, checked in prepare
    auto& c = cclock_[size_t(s.counter)];
    for (size_t i = 0; i < vc.size(); ++i) c[i] = std::max(c[i], vc[i]);
  }
  ++next_[b];
  --remaining_;
  if (next_[b] == p.queues[b].size() && resident_[b]) {  // the block exits; its slot frees
    resident_[b] = 0;
    --admitted_;
    admit(admit_order);
  }
  return std::nullopt;
}

std::optional<Problem> Execution::deadlock() const {
  const Plan& p = *pr_->plan;
  std::string stuck;
  size_t shown = 0;
  for (size_t b = 0; b < pr_->blocks && shown < 4; ++b) {
    if (next_[b] >= p.queues[b].size()) continue;
    const int32_t t = p.queues[b][next_[b]];
    stuck += fmt::format("{}{}{}", shown ? "; " : "", task_name(p, t), resident_[b] ? "" : " (block not resident)");
    ++shown;
  }
  return Problem{"deadlock", fmt::format("no block can proceed at pos {} with {} tasks left: {}", pos_, remaining_, stuck)};
}

std::optional<Problem> Execution::outputs() const {
  const Plan& p = *pr_->plan;
  std::vector<int32_t> outs = p.outputs;
  for (const Buffer& b : p.buffers)
    if (b.kind == BufferKind::Output) outs.push_back(b.id);
  for (int32_t o : outs) {
    const auto& bits = written_[size_t(o)];
    if (read_only(p.buffers[size_t(o)].kind)) continue;  // an initialised buffer is "written"
    if (std::find(bits.begin(), bits.end(), 0) != bits.end())
      return Problem{"output", fmt::format("output '{}' is not fully written at pos {}", p.buffers[size_t(o)].name, pos_)};
  }
  return std::nullopt;
}

std::vector<size_t> iota_order(size_t n) {
  std::vector<size_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

// One random schedule. policy 0: uniform among runnable blocks; 1: a random fixed priority
// (a block runs as far as it can before lower ones move: extreme schedules uniform picking
// rarely reaches); 2: one random block is starved (runs only when nothing else can), so its
// writes come as late as the plan allows and waiters acquire no more signals than they
// need: the schedules where a missing dependency shows.
std::optional<Problem> random_schedule(const Prepared& pr, int64_t pos, Rng& rng, int policy) {
  std::vector<size_t> order = iota_order(pr.blocks);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  Execution ex(pr, pos);
  ex.admit(order);
  while (!ex.finished()) {
    std::vector<size_t> r = ex.runnable_blocks();
    if (r.empty()) return ex.deadlock();
    size_t b = r[0];
    if (policy == 2) {
      std::vector<size_t> others;
      for (size_t x : r)
        if (x != order[0]) others.push_back(x);
      b = others.empty() ? r[0] : others[rng.below(others.size())];
    } else if (policy == 0) {
      b = r[rng.below(r.size())];
    } else {
      for (size_t x : order)
        if (ex.runnable(x)) { b = x; break; }
    }
    if (auto e = ex.run(b, order)) return e;
  }
  return ex.outputs();
}

struct Dfs {
  const Prepared& pr;
  std::vector<size_t> order;
  size_t leaves = 0, limit = 0;
  bool truncated = false;
  std::optional<Problem> go(const Execution& ex) {
    if (leaves >= limit) { truncated = true; return std::nullopt; }
    if (ex.finished()) { ++leaves; return ex.outputs(); }
    std::vector<size_t> r = ex.runnable_blocks();
    if (r.empty()) { ++leaves; return ex.deadlock(); }
    for (size_t b : r) {
      Execution child = ex;
      if (auto e = child.run(b, order)) { ++leaves; return e; }
      if (auto e = go(child)) return e;
    }
    return std::nullopt;
  }
};

}  // namespace

OracleVerdict judge_plan(const Plan& plan, const OracleOptions& o) {
  OracleVerdict v;
  Prepared pr;
  bool too_large = false;
  if (auto why = prepare(plan, o, &pr, &too_large)) {
    v.unsafe = true;
    v.problem = "malformed";
    v.detail = *why;
    return v;
  }
  if (too_large) {
    v.skipped = true;
    v.detail = "writable buffers too large for the oracle";
    return v;
  }
  std::vector<int64_t> positions = o.positions;
  if (positions.empty()) {
    for (int64_t p : {int64_t(0), int64_t(1), int64_t(plan.context - 1)})
      if (p < plan.context && std::find(positions.begin(), positions.end(), p) == positions.end()) positions.push_back(p);
  }
  Rng rng(o.seed ^ 0x5eedULL);
  auto found = [&](const Problem& e, int64_t pos) {
    v.unsafe = true;
    v.problem = e.kind;
    v.detail = e.detail;
    v.pos = pos;
    return v;
  };
  const bool tiny = plan.tasks.size() <= o.exhaustive_max_tasks;
  bool all_exhaustive = tiny;
  for (int64_t pos : positions) {
    if (pos < 0 || pos >= plan.context) continue;
    if (tiny) {
      Dfs dfs{pr, iota_order(pr.blocks), 0, o.exhaustive_max_paths, false};
      Execution ex(pr, pos);
      ex.admit(dfs.order);
      auto e = dfs.go(ex);
      v.executions += dfs.leaves;
      if (e) return found(*e, pos);
      if (!dfs.truncated) continue;
      all_exhaustive = false;
    }
    for (int i = 0; i < o.interleavings; ++i) {
      ++v.executions;
      if (auto e = random_schedule(pr, pos, rng, i % 3)) return found(*e, pos);
    }
  }
  v.exhaustive = all_exhaustive;
  return v;
}

}  // namespace tessera::soundness

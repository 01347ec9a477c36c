// One function per mutation class (mutations.h). Lowered plans emit tasks in topological
// order with full-join waits, which the mutations rely on to find producers and siblings.
#include "soundness/mutations.h"

#include <algorithm>
#include <set>

#include "plan/footprint.h"

namespace tessera::soundness {

void refresh_regions(Plan& plan, int32_t task) {
  Task& t = plan.tasks[size_t(task)];
  Footprint f = footprint(plan, t);
  t.reads = std::move(f.reads);
  t.writes = std::move(f.writes);
}

std::vector<int32_t> producers(const Plan& plan, int32_t counter) {
  std::vector<int32_t> r;
  for (const Task& t : plan.tasks)
    for (const Signal& s : t.signals)
      if (s.counter == counter) { r.push_back(t.id); break; }
  return r;
}

std::vector<int32_t> consumers(const Plan& plan, int32_t counter) {
  std::vector<int32_t> r;
  for (const Task& t : plan.tasks)
    for (const Wait& w : t.waits)
      if (w.counter == counter) { r.push_back(t.id); break; }
  return r;
}

void remove_task(Plan& plan, int32_t task) {
  const Task gone = plan.tasks[size_t(task)];
  plan.tasks.erase(plan.tasks.begin() + task);
  for (auto& q : plan.queues) {
    q.erase(std::remove(q.begin(), q.end(), task), q.end());
    for (int32_t& x : q)
      if (x > task) --x;
  }
  for (size_t i = 0; i < plan.tasks.size(); ++i) plan.tasks[i].id = int32_t(i);
  // Waits that needed the removed signals now want what is left (none left: no wait), so
  // the only flaw is the one the caller meant.
  const std::vector<int64_t> total = per_step_totals(plan);
  for (Task& t : plan.tasks) {
    std::vector<Wait> keep;
    for (Wait w : t.waits) {
      const int64_t e = total[size_t(w.counter)];
      if (e == 0) continue;
      w.threshold = std::min(w.threshold, e);
      keep.push_back(w);
    }
    t.waits = std::move(keep);
  }
}

namespace {

template <typename T>
const T& pick(const std::vector<T>& v, Rng& rng) { return v[rng.below(v.size())]; }

int64_t total_of(const Plan& p, int32_t c) { return per_step_totals(p)[size_t(c)]; }

int32_t position_in_queue(const Plan& p, int32_t t) {
  const auto& q = p.queues[size_t(p.tasks[size_t(t)].sm)];
  return int32_t(std::find(q.begin(), q.end(), t) - q.begin());
}

std::optional<Plan> dropped_wait(const Plan& base, Rng& rng) {
  std::vector<int32_t> c;
  for (const Task& t : base.tasks)
    if (!t.waits.empty()) c.push_back(t.id);
  if (c.empty()) return std::nullopt;
  Plan p = base;
  Task& t = p.tasks[size_t(pick(c, rng))];
  t.waits.erase(t.waits.begin() + int64_t(rng.below(t.waits.size())));
  return p;
}

std::optional<Plan> lowered_threshold(const Plan& base, Rng& rng) {
  std::vector<std::pair<int32_t, size_t>> c;
  for (const Task& t : base.tasks)
    for (size_t i = 0; i < t.waits.size(); ++i)
      if (t.waits[i].threshold > 1) c.push_back({t.id, i});
  if (c.empty()) return std::nullopt;
  Plan p = base;
  auto [t, i] = pick(c, rng);
  Wait& w = p.tasks[size_t(t)].waits[i];
  w.threshold = rng.range(1, w.threshold - 1);
  return p;
}

std::optional<Plan> raised_threshold(const Plan& base, Rng& rng) {
  std::vector<std::pair<int32_t, size_t>> c;
  for (const Task& t : base.tasks)
    for (size_t i = 0; i < t.waits.size(); ++i) c.push_back({t.id, i});
  if (c.empty()) return std::nullopt;
  Plan p = base;
  auto [t, i] = pick(c, rng);
  Wait& w = p.tasks[size_t(t)].waits[i];
  w.threshold = total_of(p, w.counter) + rng.range(1, 3);
  return p;
}

// X waits on a counter that a consumer of X's own signal feeds: X -> Y -> X.
std::optional<Plan> counter_cycle(const Plan& base, Rng& rng) {
  std::vector<std::pair<int32_t, int32_t>> c;  // (x, y)
  for (const Task& x : base.tasks)
    for (const Signal& s : x.signals)
      for (int32_t y : consumers(base, s.counter))
        if (y != x.id && !base.tasks[size_t(y)].signals.empty()) c.push_back({x.id, y});
  if (c.empty()) return std::nullopt;
  Plan p = base;
  auto [x, y] = pick(c, rng);
  const int32_t cy = pick(p.tasks[size_t(y)].signals, rng).counter;
  p.tasks[size_t(x)].waits.push_back({cy, total_of(p, cy)});
  return p;
}

// A consumer moved ahead of a producer in the producer's own block.
std::optional<Plan> queue_cycle(const Plan& base, Rng& rng) {
  std::vector<std::pair<int32_t, int32_t>> c;  // (consumer, producer)
  for (const Task& t : base.tasks)
    for (const Wait& w : t.waits)
      for (int32_t pr : producers(base, w.counter))
        if (base.tasks[size_t(pr)].sm == t.sm && position_in_queue(base, pr) < position_in_queue(base, t.id))
          c.push_back({t.id, pr});
  if (c.empty()) return std::nullopt;
  Plan p = base;
  auto [t, pr] = pick(c, rng);
  auto& q = p.queues[size_t(p.tasks[size_t(t)].sm)];
  q.erase(std::find(q.begin(), q.end(), t));
  q.insert(std::find(q.begin(), q.end(), pr), t);
  return p;
}

std::optional<Plan> self_wait(const Plan& base, Rng& rng) {
  std::vector<int32_t> c;
  for (const Task& t : base.tasks)
    if (!t.signals.empty()) c.push_back(t.id);
  if (c.empty()) return std::nullopt;
  Plan p = base;
  Task& t = p.tasks[size_t(pick(c, rng))];
  const int32_t k = pick(t.signals, rng).counter;
  t.waits.push_back({k, total_of(p, k)});
  return p;
}

// Two counters merged into one; each waiter keeps its old threshold, now only a part of
// the shared total, which other groups' signals can satisfy.
std::optional<Plan> partial_threshold_shared_counter(const Plan& base, Rng& rng) {
  std::vector<int32_t> waited;
  for (size_t k = 0; k < base.counters.size(); ++k)
    if (!consumers(base, int32_t(k)).empty() && !producers(base, int32_t(k)).empty()) waited.push_back(int32_t(k));
  if (waited.size() < 2) return std::nullopt;
  const int32_t a = pick(waited, rng);
  int32_t b = pick(waited, rng);
  for (int tries = 0; b == a && tries < 8; ++tries) b = pick(waited, rng);
  if (a == b) return std::nullopt;
  Plan p = base;
  for (Task& t : p.tasks) {
    for (Signal& s : t.signals)
      if (s.counter == b) s.counter = a;
    for (Wait& w : t.waits)
      if (w.counter == b) w.counter = a;
  }
  return p;
}

// The attention task (or an o-proj tile with attention folded in) stops waiting for the k/v
// append: the append tasks signal a counter nobody waits on, and the waits they fed shrink
// to what is left.
std::optional<Plan> kv_read_before_append(const Plan& base, Rng& rng) {
  std::vector<int32_t> c;
  for (const Task& t : base.tasks)
    if (t.op == Op::AttnPartial || t.op == Op::AttnMatvec) c.push_back(t.id);
  if (c.empty()) return std::nullopt;
  Plan p = base;
  const Task a = p.tasks[size_t(pick(c, rng))];
  const int32_t cache = rng.chance(0.5) ? a.p.in2 : a.p.in3;
  std::set<int32_t> fed;
  for (const Wait& w : a.waits) fed.insert(w.counter);
  const int32_t orphan = int32_t(p.counters.size());
  p.counters.push_back({orphan, "orphan.kv"});
  bool moved = false;
  for (Task& t : p.tasks)
    if (t.p.out == cache && t.p.out_at_pos)
      for (Signal& s : t.signals)
        if (fed.count(s.counter)) { s.counter = orphan; moved = true; }
  if (!moved) return std::nullopt;
  const std::vector<int64_t> total = per_step_totals(p);
  for (Task& t : p.tasks) {
    std::vector<Wait> keep;
    for (Wait w : t.waits) {
      if (fed.count(w.counter)) w.threshold = std::min(w.threshold, total[size_t(w.counter)]);
      if (w.threshold >= 1) keep.push_back(w);
    }
    t.waits = std::move(keep);
  }
  return p;
}

// Sibling tiles: same opcode and output buffer, different rows.
std::vector<std::pair<int32_t, int32_t>> siblings(const Plan& p) {
  std::vector<std::pair<int32_t, int32_t>> r;
  for (const Task& x : p.tasks)
    for (const Task& y : p.tasks)
      if (x.id != y.id && x.op == y.op && x.p.out == y.p.out && x.p.out >= 0 && x.p.row_begin != y.p.row_begin &&
          x.op != Op::AttnPartial && x.op != Op::LmHeadArgmax)
        r.push_back({x.id, y.id});
  return r;
}

std::optional<Plan> overlapping_writes(const Plan& base, Rng& rng) {
  auto c = siblings(base);
  // Prefer tiles on different blocks: program order would otherwise serialise them.
  std::vector<std::pair<int32_t, int32_t>> apart;
  for (auto [x, y] : c)
    if (base.tasks[size_t(x)].sm != base.tasks[size_t(y)].sm) apart.push_back({x, y});
  if (!apart.empty()) c = apart;
  if (c.empty()) return std::nullopt;
  Plan p = base;
  auto [x, y] = pick(c, rng);
  Task& t = p.tasks[size_t(x)];
  const Task& u = p.tasks[size_t(y)];
  // Widen x to cover y's rows too (head alignment is preserved: both ranges are aligned).
  t.p.row_begin = std::min(t.p.row_begin, u.p.row_begin);
  t.p.row_end = std::max(t.p.row_end, u.p.row_end);
  refresh_regions(p, x);
  return p;
}

// In-place reuse: the outputs of a stage go into a buffer of the same shape that the
// stage's tiles read, while sibling tiles may still be reading it.
std::optional<Plan> scratch_reuse_war(const Plan& base, Rng& rng) {
  std::vector<std::pair<int32_t, int32_t>> c;  // (reused S, renamed B)
  for (const Task& t : base.tasks) {
    if (t.p.out < 0 || t.p.out_at_pos) continue;
    const Buffer& b = base.buffers[size_t(t.p.out)];
    if (b.kind != BufferKind::Activation) continue;
    for (const Region& r : t.reads) {
      const Buffer& s = base.buffers[size_t(r.buf)];
      if (s.id != b.id && s.kind == BufferKind::Activation && s.shape == b.shape && s.dtype == b.dtype)
        c.push_back({s.id, b.id});
    }
  }
  if (c.empty()) return std::nullopt;
  Plan p = base;
  auto [s, b] = pick(c, rng);
  for (Task& t : p.tasks) {
    for (int32_t* f : {&t.p.in, &t.p.in2, &t.p.in3, &t.p.residual, &t.p.out, &t.p.out2})
      if (*f == b) *f = s;
    refresh_regions(p, t.id);
  }
  return p;
}

// A producer writes fewer rows than its consumers read.
std::optional<Plan> read_unwritten(const Plan& base, Rng& rng) {
  std::vector<int32_t> c;
  // Rows are cut in whole units: heads where a head's rows go together, rotation pairs for
  // rope_pairs tasks (the range then still names whole pairs), single rows otherwise.
  auto pair_task = [](const Task& t) { return t.op == Op::NormMatvec && matvec_task_rows(t.p).paired; };
  auto align = [](const Task& t) -> int64_t {
    if (t.op == Op::NormMatvec && (t.p.rope >= 0 || t.p.qk_norm >= 0)) return t.p.head_dim;
    return 1;
  };
  auto units_of = [&](const Task& t) {
    return pair_task(t) ? matvec_task_rows(t.p).pairs.count : (t.p.row_end - t.p.row_begin) / align(t);
  };
  for (const Task& t : base.tasks)
    if ((t.op == Op::NormMatvec || t.op == Op::AttnMatvec || t.op == Op::Embed || t.op == Op::RmsNorm ||
         t.op == Op::AttnCombine) &&
        units_of(t) > 1)
      c.push_back(t.id);
  if (c.empty()) return std::nullopt;
  Plan p = base;
  Task& t = p.tasks[size_t(pick(c, rng))];
  const int64_t units = units_of(t), cut = rng.range(1, units - 1);
  const bool from_end = rng.chance(0.5);
  if (pair_task(t)) {
    const RopePairRows<int64_t> r = matvec_task_rows(t.p).pairs;
    if (from_end) t.p.row_end = r.pair_row(r.p0 + units - cut - 1) + 1;
    else t.p.row_begin = r.pair_row(r.p0 + cut);
  } else if (from_end) {
    t.p.row_end -= cut * align(t);
  } else {
    t.p.row_begin += cut * align(t);
  }
  refresh_regions(p, t.id);
  return p;
}

std::optional<Plan> out_of_range(const Plan& base, Rng& rng) {
  if (base.tasks.empty()) return std::nullopt;
  Plan p = base;
  Task& t = p.tasks[size_t(rng.below(p.tasks.size()))];
  const int32_t far = int32_t(rng.range(0, 3));
  switch (rng.below(7)) {
    case 0:  // operand buffer
      t.p.out = int32_t(p.buffers.size()) + far;
      break;
    case 1:  // declared region's buffer
      if (t.reads.empty()) return std::nullopt;
      t.reads[rng.below(t.reads.size())].buf = int32_t(p.buffers.size()) + far;
      break;
    case 2:  // region bounds past the buffer's end (operands and footprint agree)
      t.p.row_end = p.buffers[size_t(t.p.out >= 0 ? t.p.out : 0)].shape.back() + 1 + far;
      try { refresh_regions(p, t.id); } catch (...) {}
      break;
    case 3:  // wait counter
      t.waits.push_back({int32_t(p.counters.size()) + far, 1});
      break;
    case 4:  // signal counter
      t.signals.push_back({int32_t(p.counters.size()) + far, 1});
      break;
    case 5:  // block
      t.sm = int32_t(p.queues.size()) + far;
      break;
    default:  // queue entry
      p.queues[rng.below(p.queues.size())].push_back(int32_t(p.tasks.size()) + far);
      break;
  }
  return p;
}

std::optional<Plan> output_never_written(const Plan& base, Rng& rng) {
  std::vector<int32_t> c;
  for (const Task& t : base.tasks)
    for (const Region& r : t.writes)
      if (base.buffers[size_t(r.buf)].kind == BufferKind::Output) { c.push_back(t.id); break; }
  if (c.empty()) return std::nullopt;
  Plan p = base;
  remove_task(p, pick(c, rng));
  return p;
}

std::optional<Plan> too_many_blocks(const Plan& base, Rng& rng) {
  if (base.queues.size() < 2) return std::nullopt;
  Plan p = base;
  p.target.max_blocks_per_sm = 1;
  p.target.sms = int32_t(rng.range(1, int64_t(p.queues.size()) - 1));
  return p;
}

}  // namespace

const std::vector<MutationClass>& mutation_classes() {
  static const std::vector<MutationClass> k = {
      {"dropped_wait", dropped_wait},
      {"lowered_threshold", lowered_threshold},
      {"raised_threshold", raised_threshold},
      {"counter_cycle", counter_cycle},
      {"queue_cycle", queue_cycle},
      {"self_wait", self_wait},
      {"partial_threshold_shared_counter", partial_threshold_shared_counter},
      {"kv_read_before_append", kv_read_before_append},
      {"overlapping_writes", overlapping_writes},
      {"scratch_reuse_war", scratch_reuse_war},
      {"read_unwritten", read_unwritten},
      {"out_of_range", out_of_range},
      {"output_never_written", output_never_written},
      {"too_many_blocks", too_many_blocks},
  };
  return k;
}

}  // namespace tessera::soundness

// Retiling at plan level. Only norm_matvec tiles are split or merged: each output row of a
// matvec is computed independently, so any row cut gives bit-identical results, while an
// LM-head tile owns an argmax slot (a split would renumber every partial) and attention
// tiles are per kv head. Cuts fall on multiples of 16 rows (the lowering's tile quantum) or
// on head boundaries where qk-norm or RoPE mix a head's rows. A split copies the tile's
// waits and signals; because every wait on the signalled counters is a full join, raising
// the thresholds by the new increments keeps each join meaning "all producers done".
#include <algorithm>

#include "search/rewrite.h"
#include "search/rewrite_schedule.h"
#include "soundness/rng.h"

namespace tessera {

namespace {

int64_t quantum(const Task& t) { return t.p.rope >= 0 || t.p.qk_norm >= 0 ? t.p.head_dim : 16; }

bool signals_full_joins(const Plan& plan, const Task& t) {
  for (const Signal& s : t.signals)
    if (!full_joins_only(plan, s.counter)) return false;
  return true;
}

bool splittable(const Plan& plan, const Task& t) {
  if (t.op != Op::NormMatvec && t.op != Op::AttnMatvec) return false;
  const int64_t q = quantum(t);
  return q > 0 && t.p.row_end - t.p.row_begin >= 2 * q && signals_full_joins(plan, t);
}

// a and b compute adjacent rows of the same instruction and synchronise identically.
bool mergeable(const Task& a, const Task& b) {
  if (a.op != b.op || (a.op != Op::NormMatvec && a.op != Op::AttnMatvec) || a.p.row_end != b.p.row_begin) return false;
  TaskParams pa = a.p, pb = b.p;
  pa.row_begin = pb.row_begin = 0;
  pa.row_end = pb.row_end = 0;
  return pa == pb && a.waits == b.waits && a.signals == b.signals;
}

std::optional<RewriteOutcome> split(const Plan& plan, const TaskGraph& g, soundness::Rng& rng, int64_t pos) {
  std::vector<int32_t> cands;
  for (const Task& t : plan.tasks)
    if (splittable(plan, t)) cands.push_back(t.id);
  if (cands.empty()) return std::nullopt;
  const Task& t = plan.tasks[size_t(cands[size_t(rng.below(cands.size()))])];
  const int64_t q = quantum(t), units = (t.p.row_end - t.p.row_begin) / q;
  // Near the middle, seeded among the cuts that leave both halves at least one quantum.
  const int64_t cut_units = std::clamp<int64_t>(units / 2 + int64_t(rng.range(-1, 1)), 1, units - 1);
  const int64_t mid = t.p.row_begin + cut_units * q;
  RewriteOutcome out{plan, true, nlohmann::json::object()};
  Plan& p = out.plan;
  Task first = t, second = t;
  first.p.row_end = mid;
  second.p.row_begin = mid;
  second.id = int32_t(p.tasks.size());
  // The new half runs on the queue lightest in the tile's level, or beside its twin.
  const std::vector<int64_t> bytes = task_loads(plan, pos);
  std::vector<int64_t> level_load(p.queues.size(), 0);
  for (const Task& u : plan.tasks)
    if (g.level[size_t(u.id)] == g.level[size_t(t.id)]) level_load[size_t(u.sm)] += bytes[size_t(u.id)];
  const int32_t lightest = int32_t(std::min_element(level_load.begin(), level_load.end()) - level_load.begin());
  second.sm = rng.chance(0.5) ? lightest : t.sm;
  refresh_footprint(p, first);
  refresh_footprint(p, second);
  p.tasks[size_t(t.id)] = first;
  p.tasks.push_back(second);
  for (const Signal& s : t.signals) rejoin_waits(p, s.counter);
  std::vector<int32_t> order;
  for (int32_t id : g.order) {
    order.push_back(id);
    if (id == t.id) order.push_back(second.id);
  }
  queues_from_order(p, order);
  out.detail = {{"split", t.id}, {"rows", {t.p.row_begin, mid, t.p.row_end}}, {"new_task", second.id}, {"new_sm", second.sm}};
  return out;
}

std::optional<RewriteOutcome> merge(const Plan& plan, const TaskGraph& g, soundness::Rng& rng) {
  // Tiles by (weight, row_begin) so adjacent tiles of one instruction are neighbours.
  std::vector<int32_t> mm;
  for (const Task& t : plan.tasks)
    if (t.op == Op::NormMatvec || t.op == Op::AttnMatvec) mm.push_back(t.id);
  std::sort(mm.begin(), mm.end(), [&](int32_t a, int32_t b) {
    const Task &x = plan.tasks[size_t(a)], &y = plan.tasks[size_t(b)];
    return std::tuple(x.p.w, x.p.out, x.p.row_begin) < std::tuple(y.p.w, y.p.out, y.p.row_begin);
  });
  std::vector<std::pair<int32_t, int32_t>> pairs;
  for (size_t i = 0; i + 1 < mm.size(); ++i) {
    const Task &a = plan.tasks[size_t(mm[i])], &b = plan.tasks[size_t(mm[i + 1])];
    if (mergeable(a, b) && signals_full_joins(plan, a)) pairs.push_back({a.id, b.id});
  }
  if (pairs.empty()) return std::nullopt;
  auto [ia, ib] = pairs[size_t(rng.below(pairs.size()))];
  RewriteOutcome out{plan, true, nlohmann::json::object()};
  Plan& p = out.plan;
  // The merged tile takes whichever of the two comes first in the global order (both have
  // the same dependencies, and their dependants come after both).
  std::vector<int32_t> order = g.order;
  const auto pa = std::find(order.begin(), order.end(), ia), pb = std::find(order.begin(), order.end(), ib);
  const int32_t keep = pa < pb ? ia : ib, drop = keep == ia ? ib : ia;
  Task& k = p.tasks[size_t(keep)];
  k.p.row_begin = plan.tasks[size_t(ia)].p.row_begin;
  k.p.row_end = plan.tasks[size_t(ib)].p.row_end;
  refresh_footprint(p, k);
  const std::vector<Signal> sigs = k.signals;
  out.detail = {{"merged", {ia, ib}}, {"rows", {k.p.row_begin, plan.tasks[size_t(ia)].p.row_end, k.p.row_end}},
                {"kept_sm", k.sm}};
  remove_tasks(p, {drop}, &order);
  for (const Signal& s : sigs) rejoin_waits(p, s.counter);
  queues_from_order(p, order);
  return out;
}

}  // namespace

RewriteOutcome rewrite_retile(const Plan& plan, const RewriteParams& rp) {
  auto g = task_graph(plan);
  if (!g) return {plan, false, nlohmann::json::object()};
  soundness::Rng rng(rp.seed);
  const bool split_first = rng.chance(0.5);
  std::optional<RewriteOutcome> r = split_first ? split(plan, *g, rng, rp.pos) : merge(plan, *g, rng);
  if (!r) r = split_first ? merge(plan, *g, rng) : split(plan, *g, rng, rp.pos);
  if (!r) return {plan, false, nlohmann::json::object()};
  return std::move(*r);
}

}  // namespace tessera

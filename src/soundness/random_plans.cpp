// Random plans (random_plans.h).
#include "soundness/random_plans.h"

#include <algorithm>

#include "core/error.h"
#include "soundness/mutations.h"

namespace tessera::soundness {

Plan random_scratch_plan(Rng& rng) {
  Plan p;
  p.model = "random";
  p.context = int32_t(rng.range(2, 8));
  p.target.sms = 8;
  const int64_t D = 16;
  auto buffer = [&](std::string name, BufferKind kind, std::vector<int64_t> shape, BufDType dt) {
    p.buffers.push_back({int32_t(p.buffers.size()), std::move(name), kind, dt, std::move(shape), ""});
    return p.buffers.back().id;
  };
  const int blocks = int(rng.range(1, 4));
  p.queues.resize(size_t(blocks));
  auto task = [&](Op op, TaskParams tp, std::vector<Wait> waits, std::vector<Signal> sig) {
    Task t;
    t.id = int32_t(p.tasks.size());
    t.op = op;
    t.sm = int32_t(rng.below(size_t(blocks)));
    t.p = tp;
    t.waits = std::move(waits);
    t.signals = std::move(sig);
    p.queues[size_t(t.sm)].push_back(t.id);
    p.tasks.push_back(std::move(t));
    refresh_regions(p, p.tasks.back().id);
  };
  const int32_t token = buffer("token", BufferKind::Input, {1}, BufDType::I32);
  p.token_input = token;
  const int32_t table = buffer("w:embed", BufferKind::Weight, {8, D}, BufDType::BF16);
  int32_t x = buffer("x.0", BufferKind::Activation, {D}, BufDType::F32);
  p.counters.push_back({0, "embed"});
  TaskParams e;
  e.in = token, e.w = table, e.out = x, e.row_begin = 0, e.row_end = D;
  task(Op::Embed, e, {}, {{0, 1}});
  int64_t prev_total = 1;
  // 0-2 matvec stages, then LM-head tiles and the argmax, as a lowering would end.
  auto tiles_of = [&] { return int64_t(1) << rng.range(0, 2); };  // 1, 2 or 4 tiles
  const int stages = int(rng.range(0, 2));
  for (int s = 0; s < stages; ++s) {
    const int64_t tiles = tiles_of();
    const int32_t w = buffer("w:" + std::to_string(s), BufferKind::Weight, {D, D}, BufDType::BF16);
    const int32_t y = buffer("x." + std::to_string(s + 1), BufferKind::Activation, {D}, BufDType::F32);
    const int32_t c = int32_t(p.counters.size());
    p.counters.push_back({c, "stage." + std::to_string(s)});
    for (int64_t k = 0; k < tiles; ++k) {
      TaskParams tp;
      tp.in = x, tp.w = w, tp.out = y, tp.row_begin = k * D / tiles, tp.row_end = (k + 1) * D / tiles;
      task(Op::NormMatvec, tp, {{c - 1, prev_total}}, {{c, 1}});
    }
    prev_total = tiles;
    x = y;
  }
  const int64_t V = 16;
  int64_t lm_tiles = tiles_of();
  while (p.tasks.size() + size_t(lm_tiles) + 1 > 12) lm_tiles /= 2;  // stay exhaustively explorable
  const int32_t norm = buffer("w:norm", BufferKind::Weight, {D}, BufDType::BF16);
  const int32_t lm = buffer("w:lm", BufferKind::Weight, {V, D}, BufDType::BF16);
  const int32_t logits = buffer("logits", BufferKind::Output, {V}, BufDType::F32);
  const int32_t parts = buffer("lm_partials", BufferKind::Activation, {lm_tiles, 2}, BufDType::F32);
  const int32_t next = buffer("next_token", BufferKind::Output, {1}, BufDType::I32);
  const int32_t c = int32_t(p.counters.size());
  p.counters.push_back({c, "lm"});
  for (int64_t k = 0; k < lm_tiles; ++k) {
    TaskParams tp;
    tp.in = x, tp.norm = norm, tp.w = lm, tp.out = logits, tp.out2 = parts, tp.index = int32_t(k);
    tp.row_begin = k * V / lm_tiles, tp.row_end = (k + 1) * V / lm_tiles;
    task(Op::LmHeadArgmax, tp, {{c - 1, prev_total}}, {{c, 1}});
  }
  TaskParams am;
  am.in = parts, am.count = int32_t(lm_tiles), am.out = next;
  task(Op::ArgmaxReduce, am, {{c, lm_tiles}}, {});
  p.outputs = {logits, next};
  p.token_output = next;
  // Perturb most of them: a wait dropped or re-thresholded, a queue reordered, a signal
  // moved to another counter, rows shifted.
  const int edits = rng.chance(0.35) ? 0 : int(rng.range(1, 2));
  for (int i = 0; i < edits; ++i) {
    Task& t = p.tasks[rng.below(p.tasks.size())];
    const int64_t total = per_step_totals(p)[size_t(t.waits.empty() ? 0 : t.waits[0].counter)];
    switch (rng.below(5)) {
      case 0: if (!t.waits.empty()) t.waits.clear(); break;
      case 1: if (!t.waits.empty()) t.waits[0].threshold = rng.range(1, total + 1); break;
      case 2: {
        auto& q = p.queues[size_t(t.sm)];
        std::swap(q[rng.below(q.size())], q[rng.below(q.size())]);
        break;
      }
      case 3: if (!t.signals.empty()) t.signals[0].counter = int32_t(rng.below(p.counters.size())); break;
      default:
        if (t.op == Op::NormMatvec || t.op == Op::LmHeadArgmax) {
          t.p.row_begin = rng.range(0, D - 2);
          t.p.row_end = rng.range(t.p.row_begin + 1, D);
          refresh_regions(p, t.id);
        }
    }
  }
  return p;
}

std::optional<Plan> move_task_between_blocks(const Plan& base, Rng& rng) {
  if (base.queues.size() < 2 || base.tasks.empty()) return std::nullopt;
  Plan p = base;
  const int32_t t = int32_t(rng.below(p.tasks.size()));
  const int32_t from = p.tasks[size_t(t)].sm;
  int32_t to = int32_t(rng.below(p.queues.size()));
  if (to == from) to = int32_t((size_t(to) + 1) % p.queues.size());
  auto& a = p.queues[size_t(from)];
  a.erase(std::find(a.begin(), a.end(), t));
  auto& b = p.queues[size_t(to)];
  b.insert(std::upper_bound(b.begin(), b.end(), t), t);
  p.tasks[size_t(t)].sm = to;
  return p;
}

std::optional<Plan> random_edits(const Plan& base, Rng& rng) {
  Plan p = base;
  const auto& classes = mutation_classes();
  // Mostly placement moves (safe), sometimes a mutation on top: a mix of both labels.
  const int moves = int(rng.range(1, 6));
  for (int i = 0; i < moves; ++i)
    if (auto q = move_task_between_blocks(p, rng)) p = std::move(*q);
  if (rng.chance(0.5)) {
    const int muts = int(rng.range(1, 3));
    for (int i = 0; i < muts; ++i) {
      const MutationClass& m = classes[rng.below(classes.size())];
      // Out-of-range ids only as the last edit: the other mutations index the plan's vectors.
      if (m.name == "out_of_range" && i + 1 < muts) continue;
      try {
        if (auto q = m.apply(p, rng)) p = std::move(*q);
      } catch (const Error&) {
        // The previous edit left operands a later mutation cannot build on; keep what we have.
      }
    }
  }
  return p;
}

}  // namespace tessera::soundness

// Rebalancing by bytes. A move goes to the queue that is lightest in the moved task's
// dependency level (tasks of one level run side by side between joins, so piling onto a
// block that is busy in that level would stretch the level even if the block is light over
// the whole step), among the queues whose step total stays below the current maximum: the
// most-loaded queue's bytes therefore never rise and fall once the heaviest queue is
// unique. The global order is kept, so only the blocks change and the queues stay
// subsequences of one topological order.
#include <algorithm>
#include <map>

#include "search/rewrite.h"
#include "search/rewrite_schedule.h"
#include "soundness/rng.h"

namespace tessera {

namespace {

struct Loads {
  std::vector<int64_t> step;                          // per queue
  std::map<int32_t, std::vector<int64_t>> by_level;   // level -> per queue
};

}  // namespace

RewriteOutcome rewrite_rebalance(const Plan& plan, const RewriteParams& rp) {
  RewriteOutcome out{plan, false, nlohmann::json::object()};
  auto g = task_graph(plan);
  const size_t B = plan.queues.size();
  if (!g || B < 2) return out;
  soundness::Rng rng(rp.seed);
  const std::vector<int64_t> bytes = task_loads(plan, rp.pos);
  Plan& p = out.plan;
  Loads L;
  L.step.assign(B, 0);
  for (const Task& t : p.tasks) {
    auto& lv = L.by_level[g->level[size_t(t.id)]];
    if (lv.empty()) lv.assign(B, 0);
    lv[size_t(t.sm)] += bytes[size_t(t.id)];
    L.step[size_t(t.sm)] += bytes[size_t(t.id)];
  }
  auto heaviest = [&] { return int32_t(std::max_element(L.step.begin(), L.step.end()) - L.step.begin()); };
  const int64_t start_max = L.step[size_t(heaviest())];
  auto move = [&](int32_t t, int32_t to) {
    const int32_t from = p.tasks[size_t(t)].sm;
    auto& lv = L.by_level[g->level[size_t(t)]];
    lv[size_t(from)] -= bytes[size_t(t)];
    lv[size_t(to)] += bytes[size_t(t)];
    L.step[size_t(from)] -= bytes[size_t(t)];
    L.step[size_t(to)] += bytes[size_t(t)];
    p.tasks[size_t(t)].sm = to;
  };
  nlohmann::json moves = nlohmann::json::array();
  // One move off the heaviest queue; false when none lowers it.
  auto step = [&]() -> bool {
    const int32_t hb = heaviest();
    const int64_t cap = L.step[size_t(hb)];
    std::vector<int32_t> mine;
    for (const Task& t : p.tasks)
      if (t.sm == hb) mine.push_back(t.id);
    // Seeded order of the tasks tried, so different seeds move different tasks.
    for (size_t i = mine.size(); i > 1; --i) std::swap(mine[i - 1], mine[size_t(rng.below(i))]);
    for (int32_t t : mine) {
      const auto& lv = L.by_level[g->level[size_t(t)]];
      int32_t best = -1;
      for (size_t b = 0; b < B; ++b) {
        if (int32_t(b) == hb || L.step[b] + bytes[size_t(t)] >= cap) continue;
        if (best < 0 || std::pair(lv[b], L.step[b]) < std::pair(lv[size_t(best)], L.step[size_t(best)])) best = int32_t(b);
      }
      if (best >= 0) {
        moves.push_back({{"task", t}, {"from", hb}, {"to", best}, {"bytes", bytes[size_t(t)]}});
        move(t, best);
        return true;
      }
    }
    // No single move fits: swap a task with a lighter one of the same level elsewhere.
    for (int32_t t : mine) {
      for (const Task& u : p.tasks) {
        if (u.sm == hb || g->level[size_t(u.id)] != g->level[size_t(t)] || bytes[size_t(u.id)] >= bytes[size_t(t)]) continue;
        if (L.step[size_t(u.sm)] - bytes[size_t(u.id)] + bytes[size_t(t)] >= cap) continue;
        const int32_t other = u.sm;
        moves.push_back({{"swap", {t, u.id}}, {"queues", {hb, other}}});
        move(t, other);
        move(u.id, hb);
        return true;
      }
    }
    return false;
  };
  // Until the maximum falls (bounded: every move lowers one queue below the cap), then extra.
  size_t guard = 0;
  while (L.step[size_t(heaviest())] >= start_max && guard++ < p.tasks.size())
    if (!step()) break;
  if (L.step[size_t(heaviest())] >= start_max) return {plan, false, nlohmann::json::object()};
  for (int extra = int(rng.below(4)); extra > 0; --extra)
    if (!step()) break;
  queues_from_order(p, g->order);
  out.changed = true;
  out.detail = {{"moves", moves}, {"max_queue_bytes_before", start_max}, {"max_queue_bytes_after", L.step[size_t(heaviest())]}};
  return out;
}

}  // namespace tessera

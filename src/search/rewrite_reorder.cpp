// Reordering by critical path is list scheduling: a new global order is built by Kahn's
// algorithm over the dependencies plus the queue order of every queue NOT being reordered,
// always taking the ready task with the longest remaining path (its bottom level: its own
// time plus the longest chain of dependants after it). The reordered queues are then sorted
// by that order; the others already agree with it, so every queue is a subsequence of one
// topological order and nothing can deadlock. Task time is the cost model's: bytes over
// the per-block bandwidth plus the fixed per-task cost, in byte units.
#include <algorithm>
#include <queue>

#include "core/error.h"
#include "plan/plan_stats.h"
#include "search/cost_model.h"
#include "search/rewrite.h"
#include "search/rewrite_schedule.h"
#include "soundness/rng.h"

namespace tessera {

Plan reorder_queues(const Plan& plan, const std::vector<int32_t>& queues, bool longest_first, int64_t pos) {
  auto g = task_graph(plan);
  if (!g) return plan;
  const size_t T = plan.tasks.size();
  const CostParams cp = default_cost_params(plan.target);
  const double fixed_bytes = cp.task_fixed_s * cp.bytes_per_s_per_block;
  const std::vector<int64_t> bytes = task_loads(plan, pos);
  std::vector<double> bottom(T, 0);
  for (size_t k = T; k-- > 0;) {
    const int32_t t = g->order[k];
    double after = 0;
    for (int32_t s : g->succs[size_t(t)]) after = std::max(after, bottom[size_t(s)]);
    bottom[size_t(t)] = double(bytes[size_t(t)]) + fixed_bytes + after;
  }
  std::vector<char> free_queue(plan.queues.size(), queues.empty() ? 1 : 0);
  for (int32_t q : queues)
    if (q >= 0 && size_t(q) < free_queue.size()) free_queue[size_t(q)] = 1;
  std::vector<int32_t> indeg(T, 0), queue_next(T, -1), rank(T, 0);
  for (size_t k = 0; k < T; ++k) rank[size_t(g->order[k])] = int32_t(k);
  for (size_t b = 0; b < plan.queues.size(); ++b) {
    if (free_queue[b]) continue;
    const auto& q = plan.queues[b];
    for (size_t k = 0; k + 1 < q.size(); ++k) {
      queue_next[size_t(q[k])] = q[k + 1];
      indeg[size_t(q[k + 1])] += 1;
    }
  }
  for (size_t i = 0; i < T; ++i) indeg[i] += int32_t(g->preds[i].size());
  // Priority: remaining path (sign by longest_first), then the old order.
  auto worse = [&](int32_t a, int32_t b) {
    const double ka = longest_first ? bottom[size_t(a)] : -bottom[size_t(a)];
    const double kb = longest_first ? bottom[size_t(b)] : -bottom[size_t(b)];
    if (ka != kb) return ka < kb;
    return rank[size_t(a)] > rank[size_t(b)];
  };
  std::priority_queue<int32_t, std::vector<int32_t>, decltype(worse)> ready(worse);
  for (size_t i = 0; i < T; ++i)
    if (indeg[i] == 0) ready.push(int32_t(i));
  std::vector<int32_t> order;
  while (!ready.empty()) {
    const int32_t t = ready.top();
    ready.pop();
    order.push_back(t);
    auto release = [&](int32_t n) {
      if (--indeg[size_t(n)] == 0) ready.push(n);
    };
    for (int32_t s : g->succs[size_t(t)]) release(s);
    if (queue_next[size_t(t)] >= 0) release(queue_next[size_t(t)]);
  }
  Plan out = plan;
  if (order.size() != T) return out;  // cannot happen: a subset of an acyclic graph's edges
  queues_from_order(out, order);
  return out;
}

RewriteOutcome rewrite_reorder(const Plan& plan, const RewriteParams& rp) {
  RewriteOutcome out{plan, false, nlohmann::json::object()};
  soundness::Rng rng(rp.seed);
  std::vector<int32_t> chosen;
  if (!rng.chance(0.5)) {
    // One queue holding a task of the predicted critical path: the blocks that set the
    // step time are where order matters.
    std::vector<int32_t> busy;
    for (size_t b = 0; b < plan.queues.size(); ++b)
      if (plan.queues[b].size() >= 2) busy.push_back(int32_t(b));
    if (busy.empty()) return out;
    const CostParams cp = default_cost_params(plan.target);
    PlanStats st;
    try {
      st = plan_stats(plan, PathCosts{cp.bytes_per_s_per_block, cp.task_fixed_s, cp.wait_latency_s}, rp.pos, "reorder");
    } catch (const Error&) {
      return out;
    }
    // Heaviest busy queues are the likeliest on the path; pick among the top few.
    std::sort(busy.begin(), busy.end(), [&](int32_t a, int32_t b) {
      return st.weight_bytes_per_block[size_t(a)] > st.weight_bytes_per_block[size_t(b)];
    });
    busy.resize(std::min<size_t>(busy.size(), 4));
    chosen.push_back(busy[size_t(rng.below(busy.size()))]);
  }
  out.plan = reorder_queues(plan, chosen, true, rp.pos);
  int64_t moved = 0;
  for (size_t b = 0; b < plan.queues.size(); ++b) moved += plan.queues[b] != out.plan.queues[b];
  out.changed = moved > 0;
  out.detail = {{"queues", chosen.empty() ? nlohmann::json("all") : nlohmann::json(chosen)}, {"queues_changed", moved}};
  return out;
}

}  // namespace tessera

// The global order is Kahn's algorithm over dependency and queue edges, taking the lowest
// ready task id first: lowered plans emit tasks in a topological order, so for them the
// order is the emission order and rewrites of fresh plans stay easy to read.
#include "search/rewrite_schedule.h"

#include <algorithm>
#include <queue>

#include "plan/footprint.h"
#include "plan/lower.h"

namespace tessera {

std::optional<TaskGraph> task_graph(const Plan& plan) {
  const size_t T = plan.tasks.size(), C = plan.counters.size();
  std::vector<std::vector<int32_t>> producers(C);
  for (size_t i = 0; i < T; ++i) {
    const Task& t = plan.tasks[i];
    if (t.id != int32_t(i) || t.sm < 0 || size_t(t.sm) >= plan.queues.size()) return std::nullopt;
    for (const Signal& s : t.signals) {
      if (s.counter < 0 || size_t(s.counter) >= C) return std::nullopt;
      producers[size_t(s.counter)].push_back(int32_t(i));
    }
  }
  TaskGraph g;
  g.preds.assign(T, {});
  g.succs.assign(T, {});
  for (size_t i = 0; i < T; ++i) {
    for (const Wait& w : plan.tasks[i].waits) {
      if (w.counter < 0 || size_t(w.counter) >= C) return std::nullopt;
      for (int32_t p : producers[size_t(w.counter)]) g.preds[i].push_back(p);
    }
    auto& pr = g.preds[i];
    std::sort(pr.begin(), pr.end());
    pr.erase(std::unique(pr.begin(), pr.end()), pr.end());
    for (int32_t p : pr) g.succs[size_t(p)].push_back(int32_t(i));
  }
  // Kahn over dependencies plus queue edges.
  std::vector<int32_t> indeg(T, 0), queue_next(T, -1);
  std::vector<char> queued(T, 0);
  for (const auto& q : plan.queues)
    for (size_t k = 0; k < q.size(); ++k) {
      if (q[k] < 0 || size_t(q[k]) >= T || queued[size_t(q[k])]) return std::nullopt;
      queued[size_t(q[k])] = 1;
      if (k + 1 < q.size()) {
        if (q[k + 1] < 0 || size_t(q[k + 1]) >= T) return std::nullopt;
        queue_next[size_t(q[k])] = q[k + 1];
        indeg[size_t(q[k + 1])] += 1;
      }
    }
  for (size_t i = 0; i < T; ++i) {
    if (!queued[i]) return std::nullopt;
    indeg[i] += int32_t(g.preds[i].size());
  }
  std::priority_queue<int32_t, std::vector<int32_t>, std::greater<int32_t>> ready;
  for (size_t i = 0; i < T; ++i)
    if (indeg[i] == 0) ready.push(int32_t(i));
  g.level.assign(T, 0);
  while (!ready.empty()) {
    const int32_t t = ready.top();
    ready.pop();
    g.order.push_back(t);
    for (int32_t p : g.preds[size_t(t)]) g.level[size_t(t)] = std::max(g.level[size_t(t)], g.level[size_t(p)] + 1);
    auto release = [&](int32_t n) {
      if (--indeg[size_t(n)] == 0) ready.push(n);
    };
    for (int32_t s : g.succs[size_t(t)]) release(s);
    if (queue_next[size_t(t)] >= 0) release(queue_next[size_t(t)]);
  }
  if (g.order.size() != T) return std::nullopt;
  return g;
}

void queues_from_order(Plan& plan, const std::vector<int32_t>& order) {
  const size_t B = plan.queues.size();
  plan.queues.assign(B, {});
  for (int32_t id : order) plan.queues[size_t(plan.tasks[size_t(id)].sm)].push_back(id);
}

void refresh_footprint(const Plan& plan, Task& t) {
  Footprint f = footprint(plan, t);
  t.reads = std::move(f.reads);
  t.writes = std::move(f.writes);
}

std::vector<int64_t> task_loads(const Plan& plan, int64_t pos) {
  std::vector<int64_t> out;
  out.reserve(plan.tasks.size());
  for (const Task& t : plan.tasks) out.push_back(std::max<int64_t>(1, task_bytes(plan, t, pos, false)));
  return out;
}

bool full_joins_only(const Plan& plan, int32_t counter) {
  int64_t total = 0;
  for (const Task& t : plan.tasks)
    for (const Signal& s : t.signals)
      if (s.counter == counter) total += s.inc;
  for (const Task& t : plan.tasks)
    for (const Wait& w : t.waits)
      if (w.counter == counter && w.threshold != total) return false;
  return true;
}

void rejoin_waits(Plan& plan, int32_t counter) {
  int64_t total = 0;
  for (const Task& t : plan.tasks)
    for (const Signal& s : t.signals)
      if (s.counter == counter) total += s.inc;
  for (Task& t : plan.tasks)
    for (Wait& w : t.waits)
      if (w.counter == counter) w.threshold = total;
}

void remove_tasks(Plan& plan, const std::vector<int32_t>& ids, std::vector<int32_t>* order) {
  std::vector<char> gone(plan.tasks.size(), 0);
  for (int32_t id : ids) gone[size_t(id)] = 1;
  std::vector<int32_t> renum(plan.tasks.size(), -1);
  std::vector<Task> kept;
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    if (gone[i]) continue;
    renum[i] = int32_t(kept.size());
    kept.push_back(std::move(plan.tasks[i]));
    kept.back().id = renum[i];
  }
  plan.tasks = std::move(kept);
  auto remap = [&](std::vector<int32_t>& v) {
    std::vector<int32_t> out;
    for (int32_t id : v)
      if (renum[size_t(id)] >= 0) out.push_back(renum[size_t(id)]);
    v = std::move(out);
  };
  for (auto& q : plan.queues) remap(q);
  if (order) remap(*order);
}

void drop_unused_counters(Plan& plan) {
  std::vector<char> used(plan.counters.size(), 0);
  for (const Task& t : plan.tasks) {
    for (const Wait& w : t.waits) used[size_t(w.counter)] = 1;
    for (const Signal& s : t.signals) used[size_t(s.counter)] = 1;
  }
  std::vector<int32_t> renum(plan.counters.size(), -1);
  std::vector<Counter> kept;
  for (size_t c = 0; c < plan.counters.size(); ++c) {
    if (!used[c]) continue;
    renum[c] = int32_t(kept.size());
    kept.push_back(plan.counters[c]);
    kept.back().id = renum[c];
  }
  plan.counters = std::move(kept);
  for (Task& t : plan.tasks) {
    for (Wait& w : t.waits) w.counter = renum[size_t(w.counter)];
    for (Signal& s : t.signals) s.counter = renum[size_t(s.counter)];
  }
}

}  // namespace tessera

// The critical path is computed on a graph with one node per counter rather than an edge
// per (producer, waiter) pair: a join of 3,584 producers and 1,024 waiters would otherwise
// be 3.7 million edges. Kahn's algorithm releases a counter once all its producers have
// finished; a wait's time is when the producers, taken in order of finishing, have added
// up to its threshold (so partial thresholds are modelled, not just full joins).
#include "plan/plan_stats.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "core/error.h"

namespace tessera {

namespace {

int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<int64_t>::max() : r;
}

// Bytes of region `r` at `pos`, saturating (hostile plans may declare absurd boxes).
int64_t region_bytes(const Plan& plan, const Region& r, int64_t pos) {
  int64_t n = buf_dtype_size(plan.buffers[size_t(r.buf)].dtype);
  for (const Interval& iv : r.dims) {
    int64_t len = std::max<int64_t>(0, iv.hi_at(pos) - iv.lo_at(pos));
    if (__builtin_mul_overflow(n, len, &n)) return std::numeric_limits<int64_t>::max();
  }
  return n;
}

}  // namespace

PlanStats plan_stats(const Plan& plan, double bytes_per_s_per_block, int64_t pos, const std::string& where) {
  return plan_stats(plan, PathCosts{bytes_per_s_per_block, 0, 0}, pos, where);
}

PlanStats plan_stats(const Plan& plan, const PathCosts& costs, int64_t pos, const std::string& where) {
  const double bytes_per_s_per_block = costs.bytes_per_s_per_block;
  if (!(bytes_per_s_per_block > 0) || costs.task_fixed_s < 0 || costs.wait_latency_s < 0)
    fail("{}: path costs need a positive bandwidth and non-negative latencies", where);
  const size_t T = plan.tasks.size(), B = plan.queues.size(), C = plan.counters.size();
  auto bad_plan = [&](const std::string& what) {
    fail("{}: {} (run `tessera validate` for a full diagnosis)", where, what);
  };
  for (const Task& t : plan.tasks) {
    if (t.sm < 0 || size_t(t.sm) >= B) bad_plan(fmt::format("task {} names block {} of {}", t.id, t.sm, B));
    for (const Wait& w : t.waits)
      if (w.counter < 0 || size_t(w.counter) >= C) bad_plan(fmt::format("task {} waits on counter {} of {}", t.id, w.counter, C));
    for (const Signal& s : t.signals)
      if (s.counter < 0 || size_t(s.counter) >= C) bad_plan(fmt::format("task {} signals counter {} of {}", t.id, s.counter, C));
    for (const auto* rs : {&t.reads, &t.writes})
      for (const Region& r : *rs)
        if (r.buf < 0 || size_t(r.buf) >= plan.buffers.size())
          bad_plan(fmt::format("task {} touches buffer {} of {}", t.id, r.buf, plan.buffers.size()));
  }
  for (size_t b = 0; b < B; ++b)
    for (int32_t id : plan.queues[b])
      if (id < 0 || size_t(id) >= T) bad_plan(fmt::format("queue {} lists task {} of {}", b, id, T));

  PlanStats st;
  st.tasks_per_block.assign(B, 0);
  st.weight_bytes_per_block.assign(B, 0);
  std::vector<double> cost(T, 0);
  std::vector<int64_t> streamed_bytes(T, 0);
  std::vector<int64_t> waiters(C, 0);
  for (size_t i = 0; i < T; ++i) {
    const Task& t = plan.tasks[i];
    if (size_t(t.op) < size_t(kNumOps)) st.tasks_per_op[size_t(t.op)] += 1;
    int64_t weight = 0, streamed = 0;
    for (const Region& r : t.reads) {
      BufferKind k = plan.buffers[size_t(r.buf)].kind;
      int64_t bytes = region_bytes(plan, r, pos);
      // An embedding task declares the whole column slice (the row depends on the token)
      // but streams one row of it.
      if (t.op == Op::Embed && r.buf == t.p.w && !r.dims.empty())
        bytes /= std::max<int64_t>(1, r.dims[0].hi_at(pos) - r.dims[0].lo_at(pos));
      if (k == BufferKind::Weight) weight = sat_add(weight, bytes);
      if (k == BufferKind::Weight || k == BufferKind::State) streamed = sat_add(streamed, bytes);
    }
    st.tasks_per_block[size_t(t.sm)] += 1;
    st.weight_bytes_per_block[size_t(t.sm)] = sat_add(st.weight_bytes_per_block[size_t(t.sm)], weight);
    st.total_weight_bytes = sat_add(st.total_weight_bytes, weight);
    cost[i] = double(streamed) / bytes_per_s_per_block + costs.task_fixed_s;
    streamed_bytes[i] = streamed;
    st.waits += int64_t(t.waits.size());
    st.signals += int64_t(t.signals.size());
    for (const Wait& w : t.waits) waiters[size_t(w.counter)] += 1;
  }
  for (int64_t w : waiters) st.max_waiters_per_counter = std::max(st.max_waiters_per_counter, w);

  // Graph: queue successor edges, task -> counter (signal), counter -> task (wait).
  // `via` records which task determined each start, to count the tasks on the path.
  std::vector<std::vector<int32_t>> queue_next(T);
  std::vector<std::vector<std::pair<int32_t, int64_t>>> producers(C), waiting(C);  // (task, inc | threshold)
  std::vector<int64_t> task_in(T, 0), counter_in(C, 0);
  for (const auto& q : plan.queues)
    for (size_t i = 1; i < q.size(); ++i) {
      queue_next[size_t(q[i - 1])].push_back(q[i]);
      task_in[size_t(q[i])] += 1;
    }
  for (size_t i = 0; i < T; ++i) {
    for (const Signal& s : plan.tasks[i].signals) {
      producers[size_t(s.counter)].push_back({int32_t(i), s.inc});
      counter_in[size_t(s.counter)] += 1;
    }
    for (const Wait& w : plan.tasks[i].waits) {
      waiting[size_t(w.counter)].push_back({int32_t(i), w.threshold});
      task_in[i] += 1;
    }
  }
  std::vector<double> start(T, 0), finish(T, 0);
  std::vector<int32_t> via(T, -1);
  std::vector<char> via_wait(T, 0);  // whether the start was set by a counter wait
  std::vector<int32_t> ready_tasks, ready_counters;
  for (size_t i = 0; i < T; ++i)
    if (task_in[i] == 0) ready_tasks.push_back(int32_t(i));
  for (size_t c = 0; c < C; ++c)
    if (counter_in[c] == 0) ready_counters.push_back(int32_t(c));
  size_t done = 0;
  bool unsatisfiable = false;
  auto release = [&](int32_t t, double when, int32_t from, bool by_wait) {
    if (when >= start[size_t(t)]) {
      start[size_t(t)] = when;
      via[size_t(t)] = from;
      via_wait[size_t(t)] = by_wait;
    }
    if (--task_in[size_t(t)] == 0) ready_tasks.push_back(t);
  };
  while (!ready_tasks.empty() || !ready_counters.empty()) {
    if (!ready_counters.empty()) {
      const int32_t c = ready_counters.back();
      ready_counters.pop_back();
      // Signals on c in order of finishing, with the running sum of their increments.
      std::vector<std::pair<double, int32_t>> order;  // (finish, index into producers[c])
      const auto& prod = producers[size_t(c)];
      for (size_t i = 0; i < prod.size(); ++i) order.push_back({finish[size_t(prod[i].first)], int32_t(i)});
      std::sort(order.begin(), order.end());
      std::vector<int64_t> cum(order.size());
      int64_t acc = 0;
      for (size_t i = 0; i < order.size(); ++i) cum[i] = acc = sat_add(acc, prod[size_t(order[i].second)].second);
      for (auto [t, threshold] : waiting[size_t(c)]) {
        auto it = std::lower_bound(cum.begin(), cum.end(), threshold);
        if (it == cum.end()) {
          unsatisfiable = true;  // never released: the task stays blocked
          continue;
        }
        const auto& [when, idx] = order[size_t(it - cum.begin())];
        release(t, when + costs.wait_latency_s, prod[size_t(idx)].first, true);
      }
      continue;
    }
    const int32_t t = ready_tasks.back();
    ready_tasks.pop_back();
    ++done;
    finish[size_t(t)] = start[size_t(t)] + cost[size_t(t)];
    for (int32_t n : queue_next[size_t(t)]) release(n, finish[size_t(t)], t, false);
    for (const Signal& s : plan.tasks[size_t(t)].signals)
      if (--counter_in[size_t(s.counter)] == 0) ready_counters.push_back(s.counter);
  }
  if (done == T && !unsatisfiable) {
    st.critical_path_s = 0;
    int32_t last = -1;
    for (size_t i = 0; i < T; ++i)
      if (last < 0 || finish[i] > finish[size_t(last)]) last = int32_t(i);
    if (last >= 0) st.critical_path_s = finish[size_t(last)];
    st.task_start_s = start;
    st.task_finish_s = finish;
    for (int32_t t = last; t >= 0 && st.critical_path_tasks <= int64_t(T); t = via[size_t(t)]) {
      st.critical_path_tasks += 1;
      st.critical_path_bytes = sat_add(st.critical_path_bytes, streamed_bytes[size_t(t)]);
      st.critical_path_waits += via_wait[size_t(t)];
    }
  }
  return st;
}

}  // namespace tessera

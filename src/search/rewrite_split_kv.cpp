// Per-layer split-KV. The lowering's kv_splits knob sets one factor for every layer; the IR
// allows each layer its own, because a layer's attention tasks, partial buffers and
// counters are its own. This rewrite finds a layer's attention (the attn_partial tasks on
// its k cache, and their combines), removes them and emits the same computation with
// another factor: partials per (kv-head tile, split) waiting as the old ones did, one
// per-tile counter for their partials, combines per query head, and the layer's "attention
// done" counter re-joined at its new producer count. Reused partial buffers are reshaped;
// buffers a factor of 1 leaves unused stay in the plan (no task touches them), and unused
// counters are dropped. New tasks go, greedily, to the queues with the fewest bytes.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "plan/lower.h"
#include "search/rewrite.h"
#include "search/rewrite_schedule.h"
#include "soundness/rng.h"

namespace tessera {

namespace {

// k-cache buffer ids of the layers, in buffer order (= layer order for lowered plans).
std::vector<int32_t> layer_caches(const Plan& plan) {
  std::vector<int32_t> ks;
  for (const Task& t : plan.tasks)
    if (t.op == Op::AttnPartial) ks.push_back(t.p.in2);
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  return ks;
}

int32_t find_buffer(const Plan& plan, const std::string& name) {
  for (const Buffer& b : plan.buffers)
    if (b.name == name) return b.id;
  return -1;
}

}  // namespace

std::vector<int> layer_kv_splits(const Plan& plan) {
  std::vector<int> out;
  for (int32_t kc : layer_caches(plan))
    for (const Task& t : plan.tasks)
      if (t.op == Op::AttnPartial && t.p.in2 == kc) {
        out.push_back(t.p.splits);
        break;
      }
  return out;
}

std::optional<Plan> set_layer_kv_splits(const Plan& plan, int layer, int splits, int64_t pos) {
  const std::vector<int32_t> caches = layer_caches(plan);
  if (layer < 0 || size_t(layer) >= caches.size() || splits < 1 || splits > plan.context) return std::nullopt;
  auto g = task_graph(plan);
  if (!g) return std::nullopt;
  const int32_t kc = caches[size_t(layer)];
  std::vector<int32_t> partials, combines;
  for (const Task& t : plan.tasks)
    if (t.op == Op::AttnPartial && t.p.in2 == kc) partials.push_back(t.id);
  const Task& p0 = plan.tasks[size_t(partials.front())];
  const int old_splits = p0.p.splits;
  if (old_splits == splits) return std::nullopt;
  if (old_splits > 1)
    for (const Task& t : plan.tasks)
      if (t.op == Op::AttnCombine && t.p.in == p0.p.out) combines.push_back(t.id);
  const std::vector<int32_t>& finals = old_splits > 1 ? combines : partials;
  if (finals.empty()) return std::nullopt;
  const Task& f0 = plan.tasks[size_t(finals.front())];
  const int32_t attn_out = f0.p.out;
  // Every final task signals the layer's one "attention done" counter, and every wait on it
  // is a full join; otherwise this is not the shape this rewrite knows how to rebuild.
  if (f0.signals.size() != 1) return std::nullopt;
  const int32_t done = f0.signals[0].counter;
  for (int32_t id : finals)
    if (plan.tasks[size_t(id)].signals != f0.signals || plan.tasks[size_t(id)].p.out != attn_out) return std::nullopt;
  if (!full_joins_only(plan, done)) return std::nullopt;
  for (const Task& t : plan.tasks)
    if (std::find(finals.begin(), finals.end(), t.id) == finals.end())
      for (const Signal& s : t.signals)
        if (s.counter == done) return std::nullopt;

  // kv-head tiles and what each waited on.
  std::map<std::pair<int64_t, int64_t>, std::vector<Wait>> tiles;
  for (int32_t id : partials) {
    const Task& t = plan.tasks[size_t(id)];
    auto it = tiles.find({t.p.row_begin, t.p.row_end});
    if (it == tiles.end()) tiles[{t.p.row_begin, t.p.row_end}] = t.waits;
    else if (it->second != t.waits) return std::nullopt;
  }
  const Buffer& q = plan.buffers[size_t(p0.p.in)];
  const Buffer& kcache = plan.buffers[size_t(kc)];
  const int64_t hd = p0.p.head_dim, hq = q.shape[0] / hd, hkv = kcache.shape[1] / hd, group = hq / hkv;
  const std::string suffix = kcache.name.rfind("k_cache.", 0) == 0 ? kcache.name.substr(8) : fmt::format("b{}", kc);

  Plan out = plan;
  std::vector<int32_t> order = g->order;
  std::vector<int32_t> removed = partials;
  removed.insert(removed.end(), combines.begin(), combines.end());
  // The new tasks take the place of the last removed task in the global order: after every
  // removed task's dependencies and before every dependant of the layer's attention.
  int32_t anchor = -1;
  for (int32_t id : order)
    if (std::find(removed.begin(), removed.end(), id) != removed.end()) anchor = id;

  int32_t part = -1, ml = -1;
  if (splits > 1) {
    part = old_splits > 1 ? p0.p.out : find_buffer(out, "attn_part." + suffix);
    ml = old_splits > 1 ? p0.p.out2 : find_buffer(out, "attn_ml." + suffix);
    auto make = [&](int32_t id, const std::string& name, std::vector<int64_t> shape) {
      if (id >= 0) {
        out.buffers[size_t(id)].shape = std::move(shape);
        return id;
      }
      Buffer b;
      b.id = int32_t(out.buffers.size());
      b.name = name;
      b.kind = BufferKind::Activation;
      b.dtype = BufDType::F32;
      b.shape = std::move(shape);
      out.buffers.push_back(b);
      return b.id;
    };
    part = make(part, "attn_part." + suffix, {hq, splits, hd});
    ml = make(ml, "attn_ml." + suffix, {hq, splits, 2});
  }
  const int64_t chunk = (int64_t(plan.context) + splits - 1) / splits;
  std::vector<Task> fresh;
  auto add = [&](Op op, const TaskParams& tp, std::vector<Wait> waits, std::vector<Signal> signals) {
    Task t;
    t.op = op;
    t.p = tp;
    t.waits = std::move(waits);
    t.signals = std::move(signals);
    fresh.push_back(std::move(t));
  };
  std::map<std::pair<int64_t, int64_t>, int32_t> tile_counter;
  for (const auto& [range, waits] : tiles) {
    int32_t c = done;
    if (splits > 1) {
      c = int32_t(out.counters.size());
      out.counters.push_back({c, fmt::format("l{}.attn_part.s{}.h{}", suffix, splits, range.first)});
      tile_counter[range] = c;
    }
    for (int s = 0; s < splits; ++s) {
      TaskParams tp;
      tp.in = p0.p.in;
      tp.in2 = kc;
      tp.in3 = p0.p.in3;
      tp.out = splits > 1 ? part : attn_out;
      tp.out2 = splits > 1 ? ml : -1;
      tp.row_begin = range.first;
      tp.row_end = range.second;
      tp.head_dim = int32_t(hd);
      tp.split = s;
      tp.splits = splits;
      tp.chunk = int32_t(chunk);
      add(Op::AttnPartial, tp, waits, {Signal{c, 1}});
    }
  }
  if (splits > 1)
    for (int64_t h = 0; h < hq; ++h) {
      const int64_t kvh = h / group;
      int32_t c = -1;
      for (const auto& [range, id] : tile_counter)
        if (range.first <= kvh && kvh < range.second) c = id;
      if (c < 0) return std::nullopt;  // a kv head no partial covers: not a lowered layout
      TaskParams tp;
      tp.in = part;
      tp.in2 = ml;
      tp.out = attn_out;
      tp.row_begin = h;
      tp.row_end = h + 1;
      tp.head_dim = int32_t(hd);
      tp.splits = splits;
      add(Op::AttnCombine, tp, {Wait{c, 0}}, {Signal{done, 1}});
    }

  // Place the new tasks greedily on the queues with the fewest bytes (removed tasks' bytes
  // leave their queues first).
  const std::vector<int64_t> before = task_loads(plan, pos);
  std::vector<int64_t> load(out.queues.size(), 0);
  for (const Task& t : plan.tasks)
    if (std::find(removed.begin(), removed.end(), t.id) == removed.end()) load[size_t(t.sm)] += before[size_t(t.id)];
  std::vector<int32_t> new_ids;
  for (Task& t : fresh) {
    t.id = int32_t(out.tasks.size());
    t.sm = int32_t(std::min_element(load.begin(), load.end()) - load.begin());
    out.tasks.push_back(t);
    refresh_footprint(out, out.tasks.back());
    load[size_t(t.sm)] += std::max<int64_t>(1, task_bytes(out, out.tasks.back(), pos, false));
    new_ids.push_back(t.id);
  }
  std::vector<int32_t> with_new;
  for (int32_t id : order) {
    if (id == anchor) with_new.insert(with_new.end(), new_ids.begin(), new_ids.end());
    with_new.push_back(id);
  }
  out.queues.assign(out.queues.size(), {});
  for (int32_t id : with_new) out.queues[size_t(out.tasks[size_t(id)].sm)].push_back(id);
  remove_tasks(out, removed, &with_new);
  for (const auto& [range, c] : tile_counter) rejoin_waits(out, c);
  rejoin_waits(out, done);
  drop_unused_counters(out);
  queues_from_order(out, with_new);
  return out;
}

RewriteOutcome rewrite_split_kv(const Plan& plan, const RewriteParams& rp) {
  RewriteOutcome out{plan, false, nlohmann::json::object()};
  const std::vector<int> now = layer_kv_splits(plan);
  if (now.empty()) return out;
  soundness::Rng rng(rp.seed);
  const int layer = int(rng.below(now.size()));
  std::vector<int> options;
  for (int s : {1, 2, 4, 8, 16, 32})
    if (s != now[size_t(layer)] && s <= plan.context) options.push_back(s);
  if (options.empty()) return out;
  const int splits = options[size_t(rng.below(options.size()))];
  auto p = set_layer_kv_splits(plan, layer, splits, rp.pos);
  if (!p) return out;
  out.plan = std::move(*p);
  out.changed = true;
  out.detail = {{"layer", layer}, {"from", now[size_t(layer)]}, {"to", splits}};
  return out;
}

}  // namespace tessera

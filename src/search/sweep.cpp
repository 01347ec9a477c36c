// A policy's run stops at the first candidate within the tolerance or after as many
// evaluations as the sweep itself took (a policy that needs more has lost to exhaustive
// search). Evaluations count distinct candidates, the root included, as the tuner counts
// them: proposals of an already evaluated knob set are skipped by search_step, not paid.
#include "search/sweep.h"

#include <algorithm>
#include <chrono>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "model/shapes.h"
#include "search/evaluate.h"
#include "search/policy.h"
#include "search/tune_loop.h"

namespace tessera {

SweepResult run_sweep(const SweepOptions& o, std::FILE* progress) {
  if (o.keys.empty()) throw UsageError("tune --sweep: give the knob subset with --sweep-knobs a,b,c");
  if (o.seeds < 1) throw UsageError(fmt::format("tune --sweep: --sweep-seeds {} must be >= 1", o.seeds));
  const auto t0 = std::chrono::steady_clock::now();
  EvalSettings es;
  es.model = shape_config(o.shape);
  es.model_label = o.shape;
  es.target = target_preset(o.target);
  es.context = o.context > 0 ? o.context : std::min(es.model.max_position_embeddings, 4096);
  es.measurer = o.measurer;
  es.position = o.position;
  es.cost = default_cost_params(es.target);
  LowerConfig base;
  for (const std::string& k : o.start_knobs) base.set(k);
  KnobSpace space = KnobSpace(es.model, es.target, es.context, base).subset(o.keys);
  std::vector<KnobSet> points = space.enumerate(o.limit);

  SweepResult res;
  res.points = points.size();
  res.measured = o.measurer != nullptr;
  std::map<std::string, Evaluation> table;
  uint64_t check_seed = 1;
  for (const KnobSet& k : points) {
    Proposal p;
    p.knobs = k;
    EvalSettings e = es;
    e.emulate = o.emulate;
    Evaluation ev = evaluate_candidate(p, space, e, check_seed++);
    ev.plan.reset();
    if (ev.status == CandidateStatus::Ok) {
      res.ok += 1;
      if (res.ok == 1 || ev.cost_s < res.best_s) {
        res.best_s = ev.cost_s;
        res.best_knobs = knob_set_text(k);
      }
      res.worst_s = std::max(res.worst_s, ev.cost_s);
    }
    const std::string key = knob_set_text(k);
    const Evaluation& done = table[key] = std::move(ev);
    // Measured points take seconds each: report every one, with its verdict and time.
    if (progress && res.measured) {
      fmt::print(progress, "sweep: {}/{} {}: {}\n", table.size(), points.size(), key,
                 done.status == CandidateStatus::Ok ? fmt::format("{:.4f} ms", done.cost_s * 1e3) : status_name(done.status));
      std::fflush(progress);
    } else if (progress && (table.size() % 25 == 0 || table.size() == points.size())) {
      fmt::print(progress, "sweep: {}/{} points evaluated\n", table.size(), points.size());
      std::fflush(progress);
    }
  }
  if (res.ok == 0) fail("tune --sweep: no point of the space passed the ladder");
  const KnobSet root_knobs = space.from_config(space.base());
  res.default_knobs = knob_set_text(root_knobs);
  // The default knobs may lie outside a subset space (e.g. kv_splits=0, "choose", when the
  // sweep enumerates explicit split counts): then there is no default to report.
  const auto root_it = table.find(res.default_knobs);
  res.default_s = root_it != table.end() && root_it->second.status == CandidateStatus::Ok ? root_it->second.cost_s : 0;
  const double target = res.best_s * (1 + o.tolerance);

  // One probe for every policy and seed: each knob set is lowered for its resources once.
  const PolicyContext ctx{std::make_shared<const KnobSpace>(space), lowering_resource_probe(es, space)};
  for (const std::string& name : o.policies) {
    PolicyRuns pr{name, {}};
    for (int seed = 1; seed <= o.seeds; ++seed) {
      std::unique_ptr<Policy> policy = make_policy(name, builtin_operators(space), ctx);
      SearchRng rng(uint64_t(seed) * 0x9e3779b97f4a7c15ULL + 7);
      SearchTree tree;
      int64_t next_id = 1;
      int64_t found = -1;
      SearchHooks hooks;
      hooks.begin = [&](const Proposal&, uint64_t) { return next_id++; };
      hooks.evaluate = [&](const Proposal& p, uint64_t) { return table.at(knob_set_text(*p.knobs)); };
      hooks.finish = [&](int64_t id, const Proposal&, const Evaluation& ev) {
        if (found < 0 && ev.status == CandidateStatus::Ok && ev.cost_s <= target) found = id;
      };
      Proposal root;
      root.op = "seed";
      root.knobs = root_knobs;
      int64_t id = hooks.begin(root, 0);
      Evaluation ev = hooks.evaluate(root, 0);
      hooks.finish(id, root, ev);
      tree.add(tree_node(id, root, ev));
      while (found < 0 && int64_t(tree.size()) < int64_t(points.size()))
        if (!search_step(tree, *policy, rng, hooks)) break;
      pr.evals.push_back(found);
    }
    res.runs.push_back(std::move(pr));
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

std::string sweep_markdown(const SweepResult& r, const SweepOptions& o) {
  std::string md;
  md += fmt::format("Space: `{}` on the `{}` shape, target {}, position {}: {} points, {} pass the ladder "
                    "(validator{}).\n\n",
                    fmt::join(o.keys, ","), o.shape, o.target, o.position, r.points, r.ok,
                    o.emulate ? " + emulator on the check shape" : " only");
  const std::string start = o.start_knobs.empty() ? std::string("default knobs")
                                                   : fmt::format("start knobs `{}` (the root)", fmt::join(o.start_knobs, " "));
  const char* kind = r.measured ? "measured" : "predicted";
  md += fmt::format("Exhaustive best **{:.4f} ms ({})** `{}`; {} {:.4f} ms ({}); worst "
                    "{:.4f} ms ({}). Target: within {:.0f}% of the best, i.e. <= {:.4f} ms.\n\n",
                    r.best_s * 1e3, kind, r.best_knobs, start, r.default_s * 1e3, kind, r.worst_s * 1e3, kind,
                    o.tolerance * 100, r.best_s * (1 + o.tolerance) * 1e3);
  md += fmt::format("| policy | seeds | reached | median evaluations | worst | median % of the sweep's {} | per seed |\n"
                    "| --- | ---: | ---: | ---: | ---: | ---: | --- |\n",
                    r.points);
  for (const PolicyRuns& pr : r.runs) {
    std::vector<int64_t> reached;
    std::vector<std::string> cells;
    for (int64_t e : pr.evals) {
      cells.push_back(e < 0 ? "never" : std::to_string(e));
      if (e >= 0) reached.push_back(e);
    }
    std::sort(reached.begin(), reached.end());
    // A seed that never reached counts as the whole sweep in the median and the worst.
    std::vector<int64_t> all = reached;
    for (size_t i = reached.size(); i < pr.evals.size(); ++i) all.push_back(int64_t(r.points));
    std::sort(all.begin(), all.end());
    const double med = all.size() % 2 ? double(all[all.size() / 2])
                                      : 0.5 * double(all[all.size() / 2 - 1] + all[all.size() / 2]);
    md += fmt::format("| {} | {} | {} | {:.1f} | {} | {:.1f}% | {} |\n", pr.policy, pr.evals.size(), reached.size(), med,
                      all.back(), 100 * med / double(r.points), fmt::join(cells, ", "));
  }
  if (r.measured)
    md += fmt::format("\nAll costs are measured: every point verified against the CPU reference and timed on {} "
                      "(each point on its own, not interleaved). Wall time {:.1f} s.\n",
                      o.measurer->name(), r.seconds);
  else
    md += fmt::format("\nAll costs are predicted by the cost model (src/search/cost_model.h), not measured. Wall time "
                      "{:.1f} s.\n",
                      r.seconds);
  return md;
}

}  // namespace tessera

// The run's settings (model, target, policy, seed, knob space, start knobs, position) are
// stored with the run, and --resume rebuilds everything from them: a resumed run cannot
// silently continue under different settings than it began with. Budgets are the
// exception: the candidate budget counts the whole run (so a killed run finishes its
// original budget), the time budget counts this invocation (wall time before a crash is
// gone either way).
#include "search/tune_loop.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "bench/floor.h"
#include "core/atomic_write.h"
#include "core/error.h"
#include "model/load.h"
#include "model/shapes.h"
#include "plan/plan_json.h"
#include "search/tune_agents.h"
#include "search/rewrite_recipe.h"
#include "search/structural_operators.h"
#include "search/tuned_plan_source.h"

namespace tessera {

namespace {

// H100 ceilings for the floor shown beside predicted costs: 3.0 TB/s device copy
// (docs/PERF.md, measured) and 989 TFLOP/s dense bf16 (NVIDIA H100 SXM datasheet).
constexpr double kFloorCopyBytesPerS = 3.0e12;
constexpr double kFloorMatmulFlops = 989e12;

std::string model_stem(const std::string& model) {
  std::filesystem::path p(model);
  std::string s = p.filename().string();
  if (s.empty()) s = p.parent_path().filename().string();
  for (char& c : s)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) c = '_';
  return s.empty() ? "model" : s;
}

nlohmann::json settings_json(const TuneOptions& o) {
  return {{"model_path", o.model_path}, {"shape", o.shape},       {"position", o.position},
          {"context", o.context},       {"start_knobs", o.start_knobs}, {"space_keys", o.space_keys},
          {"check_shape", o.check_shape}, {"structural", o.structural}};
}

// The options a resumed run continues with: the recorded ones; flags that disagree are errors.
TuneOptions resumed_options(const TuneOptions& given, const RunRecord& run, const std::string& db) {
  TuneOptions o = given;
  const nlohmann::json& s = run.settings;
  auto str = [&](const char* k) { return s.contains(k) && s[k].is_string() ? s[k].get<std::string>() : std::string(); };
  auto same = [&](const std::string& flag, const std::string& mine, const std::string& recorded) {
    if (!mine.empty() && mine != recorded)
      throw UsageError(fmt::format("--resume continues run {} of '{}' as recorded ({} {}); drop {} {}", run.id, db, flag,
                                   recorded, flag, mine));
  };
  same("--model", given.model_path, str("model_path"));
  same("--shape", given.shape, str("shape"));
  same("--policy", given.policy, run.policy);
  same("--target", given.target, run.target);
  if (o.budget_candidates == 0) o.budget_candidates = run.budget_candidates;
  o.model_path = str("model_path");
  o.shape = str("shape");
  o.policy = run.policy;
  o.target = run.target;
  o.seed = run.seed;
  try {
    o.position = s.at("position").get<int64_t>();
    o.context = s.at("context").get<int>();
    o.start_knobs = s.at("start_knobs").get<std::vector<std::string>>();
    o.space_keys = s.at("space_keys").get<std::vector<std::string>>();
    o.check_shape = s.at("check_shape").get<std::string>();
    // Runs recorded before structural operators existed continue without them.
    o.structural = s.contains("structural") && s["structural"].get<bool>();
  } catch (const nlohmann::json::exception& e) {
    fail("tuning database '{}': run {} has incomplete settings ({})", db, run.id, e.what());
  }
  return o;
}

}  // namespace

TreeNode tree_node(int64_t id, const Proposal& p, const Evaluation& ev) {
  TreeNode n;
  n.id = id;
  n.parent = p.parent;
  n.op = p.op;
  n.has_knobs = p.knobs.has_value();
  if (p.knobs) n.knobs = *p.knobs;
  n.status = ev.status;
  n.cost_s = ev.cost_s;
  n.spread = ev.spread;
  n.cost_kind = ev.cost_kind;
  n.plan_hash = ev.plan_hash;
  n.kinds = ev.kinds;
  return n;
}

TreeNode tree_node_of(const CandidateRecord& c) {
  TreeNode n;
  n.id = c.id;
  n.parent = c.parent;
  n.op = c.op;
  n.status = c.status;
  n.cost_s = c.cost_s;
  n.spread = c.spread;
  n.cost_kind = c.cost_kind;
  n.plan_hash = c.plan_hash;
  n.kinds = kind_times_from_json(c.kind_times);
  return n;
}

TreeNode tree_node_of(const CandidateRecord& c, const KnobSpace& space) {
  TreeNode n = tree_node_of(c);
  n.has_knobs = !c.knobs.is_null();
  if (n.has_knobs) n.knobs = space.from_json(c.knobs);
  return n;
}

CandidateRecord pending_row(int64_t run, const Proposal& p, uint64_t check_seed) {
  CandidateRecord c;
  c.run = run;
  c.parent = p.parent;
  c.op = p.op;
  c.op_params = p.op_params;
  c.check_seed = check_seed;
  return c;
}

CandidateRecord verdict_row(int64_t id, const Evaluation& ev, const TuneStore& store) {
  CandidateRecord c;
  c.id = id;
  c.plan_hash = ev.plan_hash;
  c.status = ev.status;
  c.cost_s = ev.cost_s;
  c.spread = ev.spread;
  c.cost_kind = ev.cost_kind;
  c.log = ev.log;
  c.kind_times = kind_times_to_json(ev.kinds);
  if (auto row = store.candidate(id)) c.check_seed = row->check_seed;
  return c;
}

bool beats_best(const Evaluation& ev, const SearchTree& tree, std::optional<int64_t> best) {
  if (ev.status != CandidateStatus::Ok) return false;
  if (!best) return true;
  const TreeNode& b = tree.node(*best);
  return b.cost_kind == ev.cost_kind &&
         faster_beyond_noise(ev.cost_s, ev.spread, ev.cost_kind, b.cost_s, b.spread, b.cost_kind);
}

std::optional<int64_t> search_step(SearchTree& tree, Policy& policy, SearchRng& rng, const SearchHooks& hooks) {
  std::optional<Proposal> p;
  for (int tries = 0; tries < 200; ++tries) {
    p = policy.next(tree, rng);
    if (!p) return std::nullopt;
    // Nothing already in the tree is evaluated twice: a knob set by its text, a whole plan
    // (structural rewrites, agents) by its content hash.
    const bool repeat = p->knobs ? tree.seen(*p->knobs)
                                 : p->plan && tree.seen_plan(content_hash(plan_to_json(*p->plan)));
    if (!repeat) break;
    p.reset();
  }
  if (!p) return std::nullopt;
  const uint64_t check_seed = rng.next() >> 1;  // SQLite integers are signed
  const int64_t id = hooks.begin(*p, check_seed);
  Evaluation ev = hooks.evaluate(*p, check_seed);
  hooks.finish(id, *p, ev);
  tree.add(tree_node(id, *p, ev));
  return id;
}

std::string duration_text(double s) {
  int t = int(s + 0.5);
  return fmt::format("{}:{:02d}", t / 60, t % 60);
}

std::string default_db_path(const std::string& model, const std::string& target) {
  return fmt::format(".tessera/tune/{}-{}.db", model_stem(model), target);
}

std::string best_plan_path(const std::string& db) {
  std::filesystem::path p = std::filesystem::path(db).parent_path() / "best_plan.json";
  return p.string();
}

RunSetup run_setup(const TuneOptions& o, Measurer* measurer, const TuneStore& store) {
  EvalSettings es;
  es.target = target_preset(o.target);
  es.measurer = measurer;
  es.position = o.position;
  es.check_shape = o.check_shape;
  if (!o.shape.empty()) {
    es.model = shape_config(o.shape);
    es.model_label = o.shape;
  } else {
    es.model = load_model(o.model_path).config;
    es.model_label = o.model_path;
  }
  es.context = o.context > 0 ? o.context : std::min(es.model.max_position_embeddings, 4096);
  if (o.position >= es.context)
    throw UsageError(fmt::format("tune: --position {} is not below the context {}", o.position, es.context));
  es.cost = default_cost_params(es.target);
  // Measured runs leave calibration rows (record_calibration); a fit that fails (times no
  // non-negative parameters explain) keeps the defaults and says so where the model is named.
  auto cal = calibration_samples(store, es.target.arch);
  if (!cal.empty()) {
    try {
      es.cost = calibrate(cal, es.cost, cal.size() >= 3);
    } catch (const Error& e) {
      es.cost.source += fmt::format(" (the {} calibration rows were not used: {})", cal.size(), e.what());
    }
  }

  LowerConfig base;
  for (const std::string& k : o.start_knobs) base.set(k);
  KnobSpace space(es.model, es.target, es.context, base);
  if (!o.space_keys.empty()) space = space.subset(o.space_keys);
  return RunSetup{es, base, space};
}

RunSetup recorded_run_setup(const TuneStore& store, const RunRecord& run) {
  TuneOptions given;
  given.resume = true;
  return run_setup(resumed_options(given, run, store.path()), nullptr, store);
}

TuneResult run_tune(const TuneOptions& given, Measurer* measurer, std::FILE* progress) {
  if (given.model_path.empty() == given.shape.empty() && !given.resume)
    throw UsageError("tune: give exactly one of --model PATH and --shape NAME");
  const std::string db_path =
      !given.db.empty() ? given.db
                        : default_db_path(given.shape.empty() ? given.model_path : given.shape,
                                          given.target.empty() ? "sm_90a" : given.target);
  if (given.resume && given.db.empty() && given.model_path.empty() && given.shape.empty())
    throw UsageError("tune --resume: give --db FILE (or the --model/--shape of the run)");
  TuneStore store(db_path, !given.resume);

  TuneOptions o = given;
  if (o.target.empty()) o.target = "sm_90a";
  if (o.policy.empty()) o.policy = "stark";
  RunRecord run;
  if (given.resume) {
    auto runs = store.runs();
    if (runs.empty()) fail("tuning database '{}' has no run to resume", db_path);
    run = runs.back();
    o = resumed_options(given, run, db_path);
  }
  if (o.position < 0) throw UsageError(fmt::format("tune: --position {} must be >= 0", o.position));

  RunSetup setup = run_setup(o, measurer, store);
  EvalSettings& es = setup.eval;
  const LowerConfig& base = setup.base;
  KnobSpace& space = setup.space;
  SearchTree tree;
  OperatorSet ops = builtin_operators(space);
  if (o.structural) ops.structural = structural_operators(tuned_plan_source(tree, store, space, es), o.position);
  std::shared_ptr<AgentOperator> agent;
  if (o.agents.client) agent = install_agents(ops, space, es, o.agents, store, run);
  std::unique_ptr<Policy> policy =
      make_policy(o.policy, ops, PolicyContext{std::make_shared<const KnobSpace>(space), lowering_resource_probe(es, space)});

  if (!given.resume) {
    run.target = es.target.arch;
    run.model = es.model_label;
    run.policy = policy->name();
    run.seed = o.seed;
    run.budget_minutes = o.budget_minutes;
    run.budget_candidates = o.budget_candidates;
    run.settings = settings_json(o);
    run.id = store.create_run(run);
  }

  TuneResult res;
  res.run = run.id;
  res.floor_s = floor_of(step_work(es.model, o.position), kFloorCopyBytesPerS, kFloorMatmulFlops).seconds;
  res.best_plan_path = best_plan_path(db_path);

  // Rebuild the tree; a pending row is a candidate the last session did not finish.
  std::vector<CandidateRecord> pending;
  for (const CandidateRecord& c : store.candidates(run.id)) {
    if (c.status == CandidateStatus::Pending) {
      pending.push_back(c);
      continue;
    }
    tree.add(tree_node_of(c, space));
  }
  // The best as this loop keeps it (finish below), replayed over what the store holds
  // (kept_best; the report names the same one).
  std::optional<int64_t> best = kept_best_id(tree);

  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  const bool tty = progress && isatty(fileno(progress));
  auto report = [&] {
    if (!progress) return;
    std::string best_text = "none yet";
    if (best) {
      const TreeNode& b = tree.node(*best);
      const char* kind = b.cost_kind == CostKind::Predicted ? "predicted" : "measured";
      best_text = fmt::format("{:.4f} ms ({}), {:.2f}x the floor (floor predicted)", b.cost_s * 1e3, kind,
                              b.cost_s / res.floor_s);
    }
    std::string left = o.budget_minutes > 0 ? duration_text(std::max(0.0, o.budget_minutes * 60 - elapsed())) + " left"
                                            : "no time limit";
    std::string calls;
    if (agent) calls = fmt::format(", {} agent calls", agent->usage().calls);
    fmt::print(progress, "{}tune: {} tried, {} kept, best {}, {}{}{}", tty ? "\r\033[K" : "", tree.size(), res.kept,
               best_text, left, calls, tty ? "" : "\n");
    std::fflush(progress);
  };
  for (int64_t id : tree.ids()) res.kept += tree.node(id).parent >= 0 && tree.improved_on_parent(id);

  // The ladder's last rung (interleave_with_best, evaluate.h), against the kept best.
  std::shared_ptr<const Plan> best_plan;  // the best's plan, loaded from the store on first need
  auto interleave = [&](Evaluation& ev) {
    if (!best) return;
    const TreeNode& b = tree.node(*best);
    interleave_with_best(ev, es.measurer, BestSoFar{*best, b.cost_s, b.spread, b.cost_kind}, [&] {
      if (!best_plan) {
        if (auto text = store.plan_json(b.plan_hash))
          best_plan = std::make_shared<const Plan>(parse_plan_json(*text, fmt::format("candidate {}'s plan", *best)));
      }
      return best_plan;
    });
  };

  SearchHooks hooks;
  hooks.begin = [&](const Proposal& p, uint64_t seed) {
    CandidateRecord c = pending_row(run.id, p, seed);
    if (p.knobs) c.knobs = space.to_config(*p.knobs).to_json();
    const int64_t id = store.add_candidate(c);
    link_proposal_transcripts(store, p, id);
    return id;
  };
  hooks.evaluate = [&](const Proposal& p, uint64_t seed) {
    Evaluation ev = evaluate_candidate(p, space, es, seed);
    interleave(ev);
    return ev;
  };
  hooks.finish = [&](int64_t id, const Proposal& p, const Evaluation& ev) {
    const CandidateRecord c = verdict_row(id, ev, store);
    const bool new_best = beats_best(ev, tree, best);
    std::string json;
    // Plans derived from knobs are re-derivable from the row; a best plan, or one an
    // operator wrote whole, is stored itself.
    if (ev.plan && (new_best || !p.knobs)) json = plan_to_json(*ev.plan);
    store.finish_candidate(c, json.empty() ? nullptr : &json);
    record_calibration(store, es, ev);
    if (new_best) {
      write_file_atomically(res.best_plan_path, json);
      best = id;  // the tree gets the node right after finish
      best_plan = ev.plan;
    }
  };

  // Finish what the last session left pending, with the seeds it recorded.
  for (const CandidateRecord& c : pending) {
    Proposal p;
    p.parent = c.parent;
    p.op = c.op;
    p.op_params = c.op_params;
    if (!c.knobs.is_null()) {
      p.knobs = space.from_json(c.knobs);
    } else if (c.op_params.is_object() && c.op_params.contains("recipe")) {
      // A structural child: its recipe re-derives the plan exactly.
      try {
        p.plan = std::make_shared<const Plan>(
            replay_recipe(c.op_params["recipe"], space, es.model, es.target, es.context, es.model_label, true).plan);
      } catch (const Error& e) {
        fail("tuning database '{}': pending candidate {} cannot be re-derived from its recipe: {}", db_path, c.id, e.what());
      }
    } else {
      fail("tuning database '{}': pending candidate {} holds no knob set and its plan was not recorded", db_path, c.id);
    }
    Evaluation ev = hooks.evaluate(p, c.check_seed);
    hooks.finish(c.id, p, ev);
    tree.add(tree_node(c.id, p, ev));
    res.evaluated += 1;
    res.kept += p.parent >= 0 && tree.improved_on_parent(c.id);
    report();
  }

  SearchRng rng(o.seed * 0x9e3779b97f4a7c15ULL + uint64_t(tree.size()));
  if (!tree.root()) {
    Proposal root;
    root.op = "seed";
    root.op_params = {{"start_knobs", o.start_knobs}};
    root.knobs = space.from_config(base);
    const uint64_t seed = rng.next() >> 1;
    int64_t id = hooks.begin(root, seed);
    Evaluation ev = hooks.evaluate(root, seed);
    hooks.finish(id, root, ev);
    tree.add(tree_node(id, root, ev));
    res.evaluated += 1;
    report();
  }
  for (;;) {
    if (o.budget_candidates > 0 && int64_t(tree.size()) >= o.budget_candidates) {
      res.stop_reason = fmt::format("candidate budget of {} reached", o.budget_candidates);
      break;
    }
    if (o.budget_minutes > 0 && elapsed() >= o.budget_minutes * 60) {
      res.stop_reason = fmt::format("time budget of {} min reached", o.budget_minutes);
      break;
    }
    auto id = search_step(tree, *policy, rng, hooks);
    if (!id) {
      res.stop_reason = fmt::format("policy {} has nothing new to propose", policy->name());
      break;
    }
    res.evaluated += 1;
    res.kept += tree.improved_on_parent(*id);
    report();
  }
  if (tty) fmt::print(progress, "\n");
  res.total = int64_t(tree.size());
  if (agent) res.agents = agent->usage();
  if (best) res.best = store.candidate(*best);
  return res;
}

}  // namespace tessera

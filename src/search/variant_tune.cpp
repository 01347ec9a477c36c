// The variant search's loop (see variant_tune.h). It reuses the knob tuner's pieces where
// they mean the same thing: the store (a variant is a candidate whose op_params hold its
// source; plan_hash is the source's hash, so the tree refuses a source it already holds),
// the tree and kept_best (the keep rule), STARK's policy (the agents are its only
// operator: variant nodes have no knobs, so they are offered as the operator for whole
// nodes) and search_step (pending row first, verdict after, each one transaction).
#include "search/variant_tune.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "core/atomic_write.h"
#include "core/error.h"
#include "search/policy.h"
#include "search/tune_agents.h"
#include "search/tune_loop.h"

namespace tessera {

namespace {

using nlohmann::json;

std::string gate_verdict(const json& gates, const char* g) {
  return gates.contains(g) && gates[g].is_object() ? gates[g].value("verdict", std::string("missing")) : "missing";
}

class GateJudge : public VariantJudge {
 public:
  GateJudge(variants::VariantSpec spec, variants::EvaluateOptions o) : spec_(std::move(spec)), o_(std::move(o)) {}
  std::string name() const override { return "gates"; }

  VariantVerdict judge(const std::string& source, const std::string& leader_ptx) override {
    variants::EvaluateOptions o = o_;
    o.timed = true;
    o.run_gate.time_against = leader_ptx;
    VariantVerdict v;
    v.gates = variants::evaluate_variant(source, spec_, o, &v.ptx)["gates"];
    const std::optional<CandidateStatus> st = variant_status(v.gates);
    if (!st)
      fail("the variant gates cannot judge here: {}",
           variant_gates_log(v.gates));  // no NVRTC or no device: nothing can be kept or measured
    v.status = *st;
    v.log = variant_gates_log(v.gates);
    if (v.status == CandidateStatus::Ok) {
      const json& t = v.gates["run"]["timing"];
      v.median_s = t.at("candidate_median_s").get<double>();
      v.spread = t.at("candidate_spread").get<double>();
      v.ratio.pairs = t.at("pairs").get<int>();
      v.ratio.median = t.at("ratio_median").get<double>();
      v.ratio.p10 = t.at("ratio_p10").get<double>();
      v.ratio.p90 = t.at("ratio_p90").get<double>();
    }
    return v;
  }

  std::string compile(const std::string& source) override {
    variants::EvaluateOptions o = o_;
    o.run = false;
    std::string ptx;
    const json r = variants::evaluate_variant(source, spec_, o, &ptx);
    if (ptx.empty()) fail("the best variant no longer compiles: {}", variant_gates_log(r["gates"]));
    return ptx;
  }

 private:
  variants::VariantSpec spec_;
  variants::EvaluateOptions o_;
};

std::string seconds_text(double s) { return s < 1e-3 ? fmt::format("{:.2f} us", s * 1e6) : fmt::format("{:.4f} ms", s * 1e3); }

}  // namespace

std::unique_ptr<VariantJudge> make_gate_judge(const variants::VariantSpec& spec, variants::EvaluateOptions options) {
  return std::make_unique<GateJudge>(spec, std::move(options));
}

std::optional<CandidateStatus> variant_status(const json& gates) {
  if (gate_verdict(gates, "static") == "reject") return CandidateStatus::Rejected;
  if (gate_verdict(gates, "compile") == "reject") return CandidateStatus::BuildFailed;
  if (gate_verdict(gates, "run") == "reject")
    return gates["run"].value("kind", std::string()) == "fail" ? CandidateStatus::Incorrect : CandidateStatus::RunFailed;
  for (const char* g : {"static", "compile", "run"})
    if (gate_verdict(gates, g) != "pass") return std::nullopt;
  return CandidateStatus::Ok;
}

std::string variant_gates_log(const json& gates) {
  std::string out;
  auto reason = [](const json& g) { return g.value("reason", std::string()); };
  for (const char* name : {"static", "compile", "run"}) {
    const json g = gates.contains(name) ? gates[name] : json::object();
    const std::string v = g.value("verdict", std::string("missing"));
    out += fmt::format("{} gate: {}", name, v);
    if (std::string(name) == "static") {
      for (const json& f : g.value("findings", json::array()))
        out += fmt::format("\n  line {} [{}]: {}", f.value("line", 0), f.value("rule", std::string()),
                           f.value("message", std::string()));
    } else if (std::string(name) == "compile") {
      if (v == "pass") out += fmt::format(" ({}, {:.2f} s)", g.value("arch", std::string()), g.value("seconds", 0.0));
      for (const json& d : g.value("diagnostics", json::array()))
        out += fmt::format("\n  {} line {}: {}: {}", d.value("file", std::string()), d.value("line", 0),
                           d.value("severity", std::string()), d.value("message", std::string()));
    } else if (g.contains("kind") && v != "pass") {
      out += fmt::format(" ({})", g.value("kind", std::string()));
    }
    if (!reason(g).empty()) out += ": " + reason(g);
    out += "\n";
  }
  if (gates.contains("run") && gates["run"].contains("timing")) {
    const json& t = gates["run"]["timing"];
    const double med = t.value("candidate_median_s", 0.0);
    out += fmt::format(
        "timed at {}x{} over {} pairs: {} median ({:.0f} GB/s of weights, spread {:.1f}%), leader {}, ratio {:.4f} "
        "[p10 {:.4f}, p90 {:.4f}]\n",
        t["shape"][0].get<int>(), t["shape"][1].get<int>(), t.value("pairs", 0), seconds_text(med),
        med > 0 ? double(t.value("weight_bytes", int64_t(0))) / med / 1e9 : 0.0, 100 * t.value("candidate_spread", 0.0),
        seconds_text(t.value("leader_median_s", 0.0)), t.value("ratio_median", 0.0), t.value("ratio_p10", 0.0),
        t.value("ratio_p90", 0.0));
  }
  return out;
}

std::string default_variant_db_path(const std::string& entry) { return fmt::format(".tessera/tune/variant-{}.db", entry); }

std::string best_variant_path(const std::string& db) {
  return (std::filesystem::path(db).parent_path() / "best_variant.cu").string();
}

VariantTuneResult run_variant_tune(const VariantTuneOptions& given, VariantJudge& judge, std::FILE* progress) {
  if (!given.agents.client)
    throw UsageError("tune --variant: the LLM agents are the only source of variants; give --agents llm");
  const variants::VariantSpec& spec = variants::variant_spec(given.entry);
  const std::string db_path = given.db.empty() ? default_variant_db_path(spec.name) : given.db;
  TuneStore store(db_path, !given.resume);
  VariantTuneOptions o = given;
  RunRecord run;
  if (o.resume) {
    auto runs = store.runs();
    if (runs.empty()) fail("tuning database '{}' has no run to resume", db_path);
    run = runs.back();
    const std::string recorded = run.settings.value("variant", std::string());
    if (recorded.empty())
      fail("tuning database '{}': run {} tunes plans, not a variant; resume it without --variant", db_path, run.id);
    if (recorded != spec.name)
      throw UsageError(fmt::format("--resume continues run {} of '{}' as recorded (--variant {}); drop --variant {}",
                                   run.id, db_path, recorded, spec.name));
    o.seed = run.seed;
    if (o.budget_candidates == 0) o.budget_candidates = run.budget_candidates;
  }

  SearchTree tree;
  AgentSettings agent_settings = o.agents;
  agent_settings.rate = 1.0;  // every draw is the agents': there is no built-in operator for code
  AgentLoopHooks hooks = agent_store_hooks(store, run);
  hooks.target = fmt::format(
      "one instruction of a transformer decode step, tuned on its own: the bf16 weight matrix is streamed once per "
      "call, so the instruction is memory-bound and its floor is the weight bytes over the GPU's copy bandwidth. "
      "Costs are measured on the GPU ({}) at the time shape, interleaved with the current best; lower is better.",
      judge.name());
  const AgentHistory history = agent_history(store, run);
  auto agent = std::make_shared<AgentOperator>(make_variant_subject(spec, hooks.candidate), agent_settings, hooks,
                                               nullptr, history.used, history.repaired);
  OperatorSet ops;
  ops.mutate = ops.sample = agent;
  ops.structural = {agent};  // the operator for nodes without knobs (structural_operators.h, propose_child)
  StarkSettings stark;
  std::unique_ptr<Policy> policy = make_stark_policy(ops, stark);

  if (!o.resume) {
    run.target = "gpu";
    run.model = "variant:" + spec.name;
    run.policy = policy->name();
    run.seed = o.seed;
    run.budget_minutes = o.budget_minutes;
    run.budget_candidates = o.budget_candidates;
    run.settings = {{"variant", spec.name}};
    run.id = store.create_run(run);
  }
  VariantTuneResult res;
  res.run = run.id;
  res.best_source_path = best_variant_path(db_path);

  std::vector<CandidateRecord> pending;
  for (const CandidateRecord& c : store.candidates(run.id)) {
    (void)variant_source_of(c);  // a row without its source cannot be resumed: say so now
    if (c.status == CandidateStatus::Pending) pending.push_back(c);
    else tree.add(tree_node_of(c));
  }
  std::optional<int64_t> best = kept_best_id(tree);
  std::string leader_ptx;
  if (best) leader_ptx = judge.compile(variant_source_of(*store.candidate(*best)));

  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  const bool tty = progress && isatty(fileno(progress));
  auto report = [&] {
    if (!progress) return;
    std::string best_text = "none yet";
    if (best) {
      const TreeNode& b = tree.node(*best);
      const TreeNode& r = tree.node(*tree.root());
      best_text = fmt::format("{} (measured), {:.3f}x the root", seconds_text(b.cost_s),
                              r.cost_kind == CostKind::Measured && r.cost_s > 0 ? b.cost_s / r.cost_s : 0.0);
    }
    const std::string left =
        o.budget_minutes > 0 ? duration_text(std::max(0.0, o.budget_minutes * 60 - elapsed())) + " left" : "no time limit";
    fmt::print(progress, "{}tune --variant {}: {} tried, {} kept, best {}, {}, {} agent calls{}", tty ? "\r\033[K" : "",
               spec.name, tree.size(), res.kept, best_text, left, agent->usage().calls, tty ? "" : "\n");
    std::fflush(progress);
  };
  for (int64_t id : tree.ids()) res.kept += tree.node(id).parent >= 0 && tree.improved_on_parent(id);

  // One candidate through the ladder. Against a leader the cost is the leader's time x
  // the per-pair ratio (evaluate.h, interleave_with_best, says why); the first is timed
  // against itself and costs its own median.
  struct Judged {
    VariantVerdict v;
    double cost_s = 0, spread = 0;
  };
  auto evaluate = [&](const std::string& source) {
    Judged j;
    j.v = judge.judge(source, leader_ptx);
    if (j.v.status != CandidateStatus::Ok) return j;
    if (best) {
      const TreeNode& b = tree.node(*best);
      j.cost_s = paired_cost(b.cost_s, j.v.ratio);
      j.spread = paired_spread(j.v.ratio);
      j.v.log += fmt::format("cost: the best (candidate {}, {}) x the median ratio {:.4f} = {}\n", *best,
                             seconds_text(b.cost_s), j.v.ratio.median, seconds_text(j.cost_s));
    } else {
      j.cost_s = j.v.median_s;
      j.spread = j.v.spread;
      j.v.log += fmt::format("cost: its own median, {} (the first candidate, timed against itself)\n", seconds_text(j.cost_s));
    }
    return j;
  };
  std::optional<Judged> last;
  SearchHooks sh;
  sh.begin = [&](const Proposal& p, uint64_t seed) {
    const int64_t id = store.add_candidate(pending_row(run.id, p, seed));
    link_proposal_transcripts(store, p, id);
    return id;
  };
  sh.evaluate = [&](const Proposal& p, uint64_t) {
    last = evaluate(p.op_params.at("source").get<std::string>());
    Evaluation ev;
    ev.status = last->v.status;
    ev.log = last->v.log;
    ev.plan_hash = content_hash(p.op_params.at("source").get<std::string>());
    if (ev.status == CandidateStatus::Ok) {
      ev.cost_s = last->cost_s;
      ev.spread = last->spread;
      ev.cost_kind = CostKind::Measured;
    }
    return ev;
  };
  sh.finish = [&](int64_t id, const Proposal& p, const Evaluation& ev) {
    store.finish_candidate(verdict_row(id, ev, store));
    const bool new_best = beats_best(ev, tree, best);
    if (new_best) {
      write_file_atomically(res.best_source_path, p.op_params.at("source").get<std::string>());
      best = id;
      leader_ptx = last->v.ptx;
    }
  };
  auto step_done = [&](int64_t id) {
    res.evaluated += 1;
    res.kept += tree.node(id).parent >= 0 && tree.improved_on_parent(id);
    report();
  };

  for (const CandidateRecord& c : pending) {
    Proposal p;
    p.parent = c.parent;
    p.op = c.op;
    p.op_params = c.op_params;
    Evaluation ev = sh.evaluate(p, c.check_seed);
    sh.finish(c.id, p, ev);
    tree.add(tree_node(c.id, p, ev));
    step_done(c.id);
  }
  SearchRng rng(o.seed * 0x9e3779b97f4a7c15ULL + uint64_t(tree.size()));
  if (!tree.root()) {
    Proposal root;
    root.op = "seed";
    root.op_params = {{"entry", spec.name},
                      {"source", variants::reference_source(
                                     spec, o.variants_dir.empty() ? variants::default_variants_dir() : o.variants_dir)}};
    const uint64_t seed = rng.next() >> 1;
    const int64_t id = sh.begin(root, seed);
    Evaluation ev = sh.evaluate(root, seed);
    sh.finish(id, root, ev);
    tree.add(tree_node(id, root, ev));
    step_done(id);
    if (ev.status != CandidateStatus::Ok)
      fail("tune --variant {}: the reference variant itself failed the ladder ({}):\n{}", spec.name,
           status_name(ev.status), ev.log);
  }
  int empty_draws = 0;
  for (;;) {
    if (o.budget_candidates > 0 && int64_t(tree.size()) >= o.budget_candidates) {
      res.stop_reason = fmt::format("candidate budget of {} reached", o.budget_candidates);
      break;
    }
    if (o.budget_minutes > 0 && elapsed() >= o.budget_minutes * 60) {
      res.stop_reason = fmt::format("time budget of {} min reached", o.budget_minutes);
      break;
    }
    const AgentUsage& u = agent->usage();
    if (u.switched_off) {
      res.stop_reason = "the agents were switched off: " + u.last_failure;
      break;
    }
    if (!agent->affordable(2)) {  // a plan and a code call
      res.stop_reason = fmt::format("agent budget reached ({} calls, {} tokens in the run)", u.calls, u.tokens);
      break;
    }
    const int64_t calls_before = u.calls;
    auto id = search_step(tree, *policy, rng, sh);
    if (!id && agent->usage().calls == calls_before) {
      res.stop_reason = fmt::format("policy {} has nothing new to propose (no live candidate to expand)", policy->name());
      break;
    }
    if (!id) {
      if (++empty_draws >= o.max_empty_draws) {
        res.stop_reason = fmt::format("the agents proposed nothing usable {} times in a row; the last: {}", empty_draws,
                                      u.last_failure.empty() ? "(no reason recorded)" : u.last_failure);
        break;
      }
      continue;
    }
    empty_draws = 0;
    step_done(*id);
  }
  if (tty) fmt::print(progress, "\n");
  res.total = int64_t(tree.size());
  res.agents = agent->usage();
  if (best) res.best = store.candidate(*best);
  if (auto r = tree.root()) res.root = store.candidate(*r);
  return res;
}

}  // namespace tessera

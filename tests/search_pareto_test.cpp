// The Pareto policy: fronts hold exactly the non-dominated points (a property test over
// random point sets), the resource axes are read off the lowered plan per instruction kind,
// the policy's two phases propose what they say on a synthetic landscape (finding the best
// of a separable one, never ending a round worse than its base on a rugged one with planted
// failures), and through the real ladder on the tiny shape it respects both budgets,
// resumes a killed run without re-evaluating anything, and runs from the command line.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <set>

#include "core/error.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "plan/plan_json.h"
#include "search/pareto_front.h"
#include "search/policy.h"
#include "search/store.h"
#include "search/tune_loop.h"
#include "search_test_settings.h"
#include "test_util.h"
#include "validate/validate.h"

namespace tessera {
namespace {

using test::run_tessera;

uint64_t hash_of(const std::string& s) { return std::hash<std::string>{}(s); }

// Every member is dominated by no point; every point left out is dominated by a member.
void expect_exact_front(const std::vector<FrontPoint>& points, const std::vector<size_t>& front, const std::string& what) {
  std::set<size_t> in(front.begin(), front.end());
  ASSERT_EQ(in.size(), front.size()) << what;
  for (size_t i : front)
    for (size_t j = 0; j < points.size(); ++j) EXPECT_FALSE(dominates(points[j], points[i])) << what << ": " << j << " over " << i;
  for (size_t j = 0; j < points.size(); ++j) {
    if (in.count(j)) continue;
    bool covered = false;
    for (size_t i : front) covered = covered || dominates(points[i], points[j]);
    EXPECT_TRUE(covered) << what << ": point " << j << " left out but not dominated by the front";
  }
  for (size_t k = 1; k < front.size(); ++k) { EXPECT_LE(points[front[k - 1]].time, points[front[k]].time) << what; }
}

TEST(ParetoFront, HoldsExactlyTheNonDominatedPoints) {
  SearchRng rng(11);
  for (int trial = 0; trial < 300; ++trial) {
    const size_t n = size_t(rng.below(25));
    const size_t axes = size_t(rng.below(4));
    std::vector<FrontPoint> points(n);
    for (FrontPoint& p : points) {
      p.time = double(rng.below(8));  // few values: ties and duplicates are common
      for (size_t a = 0; a < axes; ++a) p.resources.push_back(double(rng.below(5)));
    }
    expect_exact_front(points, pareto_front(points), "trial " + std::to_string(trial));
  }
  // Duplicates stay together; a point better on one axis and worse on another survives.
  std::vector<FrontPoint> pts = {{1, {4}}, {1, {4}}, {2, {1}}, {3, {4}}, {2, {2}}};
  EXPECT_EQ(pareto_front(pts), (std::vector<size_t>{0, 1, 2}));
  EXPECT_THROW(dominates({1, {1}}, {1, {1, 2}}), Error);
}

TEST(ParetoKinds, EveryKnobInOneKindAndResourcesReadOffThePlan) {
  const EvalSettings s = test::tiny_search_settings();
  KnobSpace space(s.model, s.target, s.context);
  for (const KnobDim& d : space.dims()) {
    int owners = 0;
    for (const InstructionKind& k : instruction_kinds())
      for (const std::string& key : k.knobs) owners += key == d.key;
    EXPECT_EQ(owners, 1) << d.key;
  }
  auto plan_with = [&](const std::string& knob) {
    LowerConfig c;
    c.fold_attention = "off";  // attention in tasks of its own, so every kind has blocks
    if (!knob.empty()) c.set(knob);
    return lower(s.model, s.target, c, s.context, "tiny");
  };
  auto use = [&](const std::string& knob) { return resource_use(plan_with(knob)); };
  const ResourceUse def = use("");
  EXPECT_GT(def.blocks, 8);
  EXPECT_EQ(def.kind_blocks.at("norm"), 0);  // fused into the matvecs
  for (const char* k : {"qkv", "o", "gate_up", "down", "lm_head", "attention"}) { EXPECT_GT(def.kind_blocks.at(k), 0) << k; }
  EXPECT_EQ(def.kind_blocks.at(kScheduleKind), def.blocks);
  // The L2 prefetch knobs are owned by the kind whose tasks carry the hint, and shape no
  // other kind's tasks: per kind, the tasks with a hint under each setting.
  auto owner = [&](const std::string& knob) {
    for (const InstructionKind& k : instruction_kinds())
      if (std::find(k.knobs.begin(), k.knobs.end(), knob) != k.knobs.end()) return k.name;
    return std::string();
  };
  std::set<std::string> keys;
  for (const KnobDim& d : space.dims()) keys.insert(d.key);
  EXPECT_TRUE(keys.count("o_prefetch") && keys.count("gate_up_prefetch_kib")) << "the search varies the hints";
  EXPECT_EQ(owner("o_prefetch"), "o");
  EXPECT_EQ(owner("gate_up_prefetch_kib"), "gate_up");
  auto hinted = [&](const std::string& knob) {
    const Plan p = plan_with(knob);
    std::map<std::string, int> n;
    for (const Task& t : p.tasks)
      if (t.p.l2_prefetch > 0) n[task_kind(p, t)] += 1;
    return n;
  };
  EXPECT_EQ(owner("qkv_prefetch_kib"), "qkv");
  EXPECT_EQ(owner("down_prefetch_kib"), "down");
  const std::map<std::string, int> hints = hinted("");
  ASSERT_EQ(hints.size(), 4u);
  for (const char* kind : {"o", "gate_up", "qkv", "down"}) EXPECT_GT(hints.at(kind), 0) << kind;
  // Each knob turns off exactly its own kind's hints.
  for (const auto& [knob, kind] : std::vector<std::pair<std::string, std::string>>{
           {"o_prefetch=false", "o"}, {"gate_up_prefetch_kib=0", "gate_up"},
           {"qkv_prefetch_kib=0", "qkv"}, {"down_prefetch_kib=0", "down"}}) {
    std::map<std::string, int> rest = hints;
    rest.erase(kind);
    EXPECT_EQ(hinted(knob), rest) << knob;
  }
  // A hint occupies nothing the fronts weigh: the resource axes stay the default's.
  for (const char* knob : {"o_prefetch=false", "gate_up_prefetch_kib=0", "gate_up_prefetch_kib=128"}) {
    const ResourceUse u = use(knob);
    EXPECT_EQ(u.smem_bytes, def.smem_bytes) << knob;
    EXPECT_EQ(u.regs_per_thread, def.regs_per_thread) << knob;
    EXPECT_EQ(u.blocks, def.blocks) << knob;
    EXPECT_EQ(u.kind_blocks, def.kind_blocks) << knob;
  }
  EXPECT_LE(use("sms=8").blocks, 8);
  EXPECT_LT(use("pipeline_stages=2").smem_bytes, use("pipeline_stages=8").smem_bytes);
  EXPECT_GT(use("fuse_norm=false").kind_blocks.at("norm"), 0);
  // One 128-row gate/up tile per layer runs on at most one block per layer.
  EXPECT_LE(use("gate_up_rows_per_task=128").kind_blocks.at("gate_up"), s.model.num_layers);
  EXPECT_GT(use("gate_up_rows_per_task=16").kind_blocks.at("gate_up"), s.model.num_layers);

  // The probe lowers as the ladder does and remembers.
  ResourceProbe probe = lowering_resource_probe(s, space);
  KnobSet k = space.from_config(LowerConfig{});
  k["sms"] = "66";
  EXPECT_LE(probe(k).blocks, 66);
  EXPECT_EQ(probe(k).blocks, probe(k).blocks);
}

// A landscape without lowering: cost from the knobs, resources from a synthetic probe.
struct Synthetic {
  KnobSpace space = KnobSpace(shape_config("llama-3.2-1b"), target_preset("sm_90a"), 4096)
                        .subset({"o_rows_per_task", "gate_up_rows_per_task", "kv_splits", "sms", "pipeline_stages",
                                 "queue_order"});
  bool separable = true;
  double fail_rate = 0;

  double cost(const KnobSet& k) const {
    double c = 1.0;
    for (const auto& [key, v] : k) c += double(hash_of(key + "=" + v) % 89) / 400.0;
    if (!separable) c += double(hash_of(knob_set_text(k)) % 61) / 300.0;  // every knob interacts
    return c * 1e-3;
  }
  Evaluation eval(const KnobSet& k) const {
    Evaluation e;
    if (double(hash_of("fail " + knob_set_text(k)) % 1000) / 1000 < fail_rate) {
      e.status = CandidateStatus::Incorrect;
      e.log = "planted failure";
      return e;
    }
    e.status = CandidateStatus::Ok;
    e.cost_kind = CostKind::Predicted;
    e.cost_s = cost(k);
    return e;
  }
  PolicyContext context() const {
    PolicyContext ctx;
    ctx.space = std::make_shared<const KnobSpace>(space);
    ctx.resources = [](const KnobSet& k) {
      ResourceUse u;
      u.smem_bytes = std::stoll(k.at("pipeline_stages")) * 16384;
      u.regs_per_thread = 128;
      u.blocks = k.at("sms") == "0" ? 132 : std::stoi(k.at("sms"));
      for (const InstructionKind& kind : instruction_kinds()) u.kind_blocks[kind.name] = int32_t(1 + hash_of(kind.name + knob_set_text(k)) % 4);
      return u;
    };
    return ctx;
  }
  // Runs the policy until it has nothing left (or `limit` candidates); the root at the defaults.
  SearchTree run(Policy& policy, int limit) const {
    SearchTree tree;
    SearchRng rng(5);
    int64_t next = 1;
    SearchHooks hooks;
    hooks.begin = [&](const Proposal&, uint64_t) { return next++; };
    hooks.evaluate = [&](const Proposal& p, uint64_t) { return eval(*p.knobs); };
    hooks.finish = [](int64_t, const Proposal&, const Evaluation&) {};
    Proposal root{-1, "seed", {}, space.from_config(space.base()), nullptr};
    Evaluation re = eval(*root.knobs);
    re.status = CandidateStatus::Ok;
    re.cost_kind = CostKind::Predicted;
    re.cost_s = cost(*root.knobs);
    tree.add(tree_node(next++, root, re));
    while (int(tree.size()) < limit)
      if (!search_step(tree, policy, rng, hooks)) break;
    return tree;
  }
};

const InstructionKind& kind_named(const std::string& name) {
  for (const InstructionKind& k : instruction_kinds())
    if (k.name == name) return k;
  throw std::runtime_error("no kind " + name);
}

// The structure every pareto tree has, whatever the landscape.
void expect_pareto_tree(const SearchTree& tree, const ParetoProgress& prog) {
  const int64_t root = *tree.root();
  for (int64_t id : tree.ids()) {
    const TreeNode& n = tree.node(id);
    if (id == root) continue;
    const TreeNode& parent = tree.node(n.parent);
    std::set<std::string> changed;
    for (const auto& [k, v] : n.knobs)
      if (parent.knobs.at(k) != v) changed.insert(k);
    EXPECT_FALSE(changed.empty()) << id;
    if (n.op.rfind("pareto-kind:", 0) == 0) {
      const InstructionKind& kind = kind_named(n.op.substr(12));
      for (const std::string& k : changed) {
        EXPECT_NE(std::find(kind.knobs.begin(), kind.knobs.end(), k), kind.knobs.end())
            << n.op << " of candidate " << id << " changed " << k;
      }
    } else {
      EXPECT_EQ(n.op, "pareto-compose") << id;
    }
  }
  ASSERT_FALSE(prog.rounds.empty());
  EXPECT_EQ(prog.rounds.front().base, root);
  for (size_t r = 0; r < prog.rounds.size(); ++r) {
    const ParetoRound& round = prog.rounds[r];
    const TreeNode& base = tree.node(round.base);
    const TreeNode& result = tree.node(round.result);
    if (base.status == CandidateStatus::Ok) {
      ASSERT_EQ(result.status, CandidateStatus::Ok);
      EXPECT_LE(result.cost_s, base.cost_s) << "round " << r << " ended worse than its base";
    }
    if (r + 1 < prog.rounds.size()) { EXPECT_EQ(prog.rounds[r + 1].base, round.result); }
    if (!round.fronts_done) continue;
    for (const KindFront& f : round.kinds) {
      EXPECT_EQ(f.evaluated, f.variations) << f.kind;
      std::vector<FrontPoint> pts;
      for (const ParetoMember& m : f.members) {
        EXPECT_EQ(m.resources.size(), pareto_axes().size());
        pts.push_back({m.time.s, m.resources});
      }
      std::vector<size_t> idx;
      for (const ParetoMember& m : f.front)
        for (size_t i = 0; i < f.members.size(); ++i)
          if (f.members[i].id == m.id) idx.push_back(i);
      ASSERT_EQ(idx.size(), f.front.size());
      expect_exact_front(pts, idx, "round " + std::to_string(r) + " kind " + f.kind);
    }
  }
}

TEST(ParetoPolicy, SeparableLandscapeComposesToTheExhaustiveBest) {
  Synthetic land;
  auto policy = make_policy("pareto", builtin_operators(land.space), land.context());
  SearchTree tree = land.run(*policy, 1000);
  const ParetoProgress prog = pareto_progress(tree, land.context());
  EXPECT_FALSE(prog.next) << "the policy stopped before it converged";
  expect_pareto_tree(tree, prog);
  double best = 1e9;
  for (const KnobSet& k : land.space.enumerate(100000)) best = std::min(best, land.cost(k));
  ASSERT_TRUE(tree.best());
  EXPECT_DOUBLE_EQ(tree.node(*tree.best()).cost_s, best);
  // Per-kind tuning plus composition, far fewer evaluations than the space holds.
  EXPECT_LT(tree.size(), land.space.size() / 4) << tree.size() << " of " << land.space.size();
  int composed = 0;
  for (int64_t id : tree.ids()) composed += tree.node(id).op == "pareto-compose";
  EXPECT_GT(composed, 0);
}

TEST(ParetoPolicy, RuggedLandscapeWithFailuresNeverEndsARoundWorse) {
  Synthetic land;
  land.separable = false;
  land.fail_rate = 0.25;
  auto policy = make_policy("pareto", {}, land.context());
  SearchTree tree = land.run(*policy, 1000);
  const ParetoProgress prog = pareto_progress(tree, land.context());
  EXPECT_FALSE(prog.next);
  expect_pareto_tree(tree, prog);
  const TreeNode& root = tree.node(*tree.root());
  EXPECT_LE(tree.node(prog.rounds.back().result).cost_s, root.cost_s);
  int failed = 0, multi = 0;
  for (int64_t id : tree.ids()) failed += tree.failed_child(id);
  for (const ParetoRound& r : prog.rounds)
    for (const KindFront& f : r.kinds) multi += f.front.size() > 1;
  EXPECT_GT(failed, 0);  // the failures were exercised
  EXPECT_GT(multi, 0);   // some front traded time for resources
  // Without a space or a probe the policy says what it lacks.
  auto bare = make_policy("pareto", {});
  SearchRng rng(1);
  try {
    bare->next(tree, rng);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no knob space"), std::string::npos) << e.what();
  }
}

// Two kinds, every point at the same step cost except one gate/up tile; the o tile that is
// faster only on its own time (off the critical path, say) is still composed onto it, which
// a whole-step axis cannot see. Without every member's own time the front falls back to
// the step and that composition is not proposed.
TEST(ParetoPolicy, FrontsUseEachKindsOwnTime) {
  const KnobSpace space = KnobSpace(shape_config("llama-3.2-1b"), target_preset("sm_90a"), 4096)
                              .subset({"o_rows_per_task", "gate_up_rows_per_task"});
  PolicyContext ctx;
  ctx.space = std::make_shared<const KnobSpace>(space);
  ctx.resources = [](const KnobSet&) {
    ResourceUse u;
    u.blocks = 132;
    for (const InstructionKind& kind : instruction_kinds()) u.kind_blocks[kind.name] = 132;
    return u;
  };
  const KnobSet base = space.from_config(space.base());
  auto dim = [&](const std::string& key) -> const KnobDim& {
    for (const KnobDim& d : space.dims())
      if (d.key == key) return d;
    throw std::runtime_error("no " + key);
  };
  auto other = [&](const std::string& key) {
    for (const std::string& v : dim(key).values)
      if (v != base.at(key)) return v;
    throw std::runtime_error("one value");
  };
  const std::string fast_o = other("o_rows_per_task"), fast_gu = other("gate_up_rows_per_task");
  auto build = [&](bool o_member_times) {
    SearchTree tree;
    int64_t id = 1;
    auto add = [&](int64_t parent, const std::string& op, const KnobSet& k, double step_ms, double o_ms, double gu_ms,
                   bool times) {
      TreeNode n;
      n.id = id++;
      n.parent = parent;
      n.op = op;
      n.has_knobs = true;
      n.knobs = k;
      n.status = CandidateStatus::Ok;
      n.cost_kind = CostKind::Measured;
      n.cost_s = step_ms * 1e-3;
      n.spread = 0.002;
      if (times) n.kinds = {{"o", {o_ms * 1e-3, 0.01}}, {"gate_up", {gu_ms * 1e-3, 0.01}}, {kScheduleKind, {step_ms * 1e-3, 0.002}}};
      tree.add(n);
    };
    add(-1, "seed", base, 1.0, 0.10, 0.30, true);
    for (const std::string& v : dim("o_rows_per_task").values) {
      if (v == base.at("o_rows_per_task")) continue;
      KnobSet k = base;
      k["o_rows_per_task"] = v;
      // fast_o halves the o tiles' own time; the step does not move.
      add(1, "pareto-kind:o", k, 1.0, v == fast_o ? 0.05 : 0.12, 0.30, v != fast_o || o_member_times);
    }
    for (const std::string& v : dim("gate_up_rows_per_task").values) {
      if (v == base.at("gate_up_rows_per_task")) continue;
      KnobSet k = base;
      k["gate_up_rows_per_task"] = v;
      add(1, "pareto-kind:gate_up", k, v == fast_gu ? 0.9 : 1.05, 0.10, v == fast_gu ? 0.20 : 0.35, true);
    }
    return tree;
  };
  SearchTree tree = build(true);
  ParetoProgress prog = pareto_progress(tree, ctx);
  ASSERT_EQ(prog.rounds.size(), 1u);
  ASSERT_TRUE(prog.rounds[0].fronts_done);
  for (const KindFront& f : prog.rounds[0].kinds) {
    EXPECT_EQ(f.axis, "kind") << f.kind;
    ASSERT_FALSE(f.front.empty()) << f.kind;
    EXPECT_EQ(f.front.front().values.at(f.kind == "o" ? "o_rows_per_task" : "gate_up_rows_per_task"),
              f.kind == "o" ? fast_o : fast_gu)
        << f.kind << ": the front's fastest is the fastest on the kind's own time";
  }
  ASSERT_TRUE(prog.next);
  EXPECT_EQ(prog.next->op, "pareto-compose");
  EXPECT_EQ(prog.next->op_params["kind"], "o");
  EXPECT_EQ(prog.next->knobs->at("o_rows_per_task"), fast_o);
  EXPECT_EQ(prog.next->knobs->at("gate_up_rows_per_task"), fast_gu);

  // "pareto-step" keeps every front on the step's time, kind times or not.
  ParetoSettings step_axis;
  step_axis.own_time = false;
  prog = pareto_progress(tree, ctx, step_axis);
  for (const KindFront& f : prog.rounds[0].kinds) { EXPECT_EQ(f.axis, "step") << f.kind; }
  ASSERT_TRUE(prog.next);
  EXPECT_EQ(prog.next->op.rfind("pareto-kind:", 0), 0u) << prog.next->op;
  EXPECT_EQ(make_policy("pareto-step", {}, ctx)->name(), "pareto-step");

  tree = build(false);
  prog = pareto_progress(tree, ctx);
  ASSERT_EQ(prog.rounds.size(), 2u);
  for (const KindFront& f : prog.rounds[0].kinds) { EXPECT_EQ(f.axis, f.kind == "o" ? "step" : "kind") << f.kind; }
  // On the step's time the o tile is no gain: round one ends at the gate/up tile, without
  // trying the o tile on it, and the next round starts from there.
  EXPECT_TRUE(prog.rounds[0].done);
  EXPECT_EQ(tree.node(prog.rounds[0].result).knobs.at("gate_up_rows_per_task"), fast_gu);
  EXPECT_EQ(prog.rounds[1].base, prog.rounds[0].result);
  ASSERT_TRUE(prog.next);
  EXPECT_EQ(prog.next->op.rfind("pareto-kind:", 0), 0u) << prog.next->op;
}

// The tree a run's rows make, as the tuner rebuilds it on --resume.
SearchTree tree_of(const std::vector<CandidateRecord>& rows, const KnobSpace& space) {
  SearchTree tree;
  for (const CandidateRecord& c : rows) tree.add(tree_node_of(c, space));
  return tree;
}

TEST(ParetoPolicy, TunesTinyWithinBudgetsAndResumesAKilledRun) {
  test::TempDir tmp;
  TuneOptions o;
  o.shape = "tiny";
  o.target = "sm_90a";
  o.policy = "pareto";
  o.context = 32;
  o.db = tmp.file("p.db");
  o.budget_candidates = 9;
  o.space_keys = {"gate_up_rows_per_task", "kv_splits", "pipeline_stages"};
  TuneResult r = run_tune(o, nullptr, nullptr);
  EXPECT_EQ(r.total, 9);
  EXPECT_NE(r.stop_reason.find("candidate budget of 9"), std::string::npos) << r.stop_reason;

  const EvalSettings es = [&] {
    TuneStore s(o.db, false);
    return run_setup(o, nullptr, s).eval;
  }();
  const KnobSpace space = KnobSpace(es.model, es.target, es.context).subset(o.space_keys);
  const PolicyContext ctx{std::make_shared<const KnobSpace>(space), lowering_resource_probe(es, space)};
  std::vector<CandidateRecord> first;
  {
    TuneStore s(o.db, false);
    first = s.candidates(-1);
    ASSERT_EQ(first.size(), 9u);
    EXPECT_EQ(s.runs().back().policy, "pareto");
    for (const CandidateRecord& c : first) {
      EXPECT_NE(c.status, CandidateStatus::Pending);
      if (c.status == CandidateStatus::Ok) { EXPECT_EQ(c.cost_kind, CostKind::Predicted); }
      if (c.id > 1) {
        EXPECT_EQ(c.op.rfind("pareto-", 0), 0u) << c.op;
        EXPECT_TRUE(c.op_params.contains("changed")) << c.op_params.dump();
        EXPECT_TRUE(c.op_params.contains("round")) << c.op_params.dump();
      }
    }
    // A killed run's last candidate: the policy's next proposal, recorded pending.
    SearchTree tree = tree_of(first, space);
    auto next = pareto_progress(tree, ctx).next;
    ASSERT_TRUE(next);
    CandidateRecord p;
    p.run = first.front().run;
    p.parent = next->parent;
    p.op = next->op;
    p.op_params = next->op_params;
    p.knobs = space.to_config(*next->knobs).to_json();
    p.check_seed = 77;
    EXPECT_EQ(s.add_candidate(p), 10);
  }
  // A time budget stops this invocation without touching the rows.
  TuneOptions t;
  t.db = o.db;
  t.resume = true;
  t.budget_candidates = 200;
  t.budget_minutes = 1e-6;
  r = run_tune(t, nullptr, nullptr);
  EXPECT_NE(r.stop_reason.find("time budget"), std::string::npos) << r.stop_reason;
  EXPECT_EQ(r.evaluated, 1);  // only the pending candidate was finished
  // Resumed to convergence (or the budget): the first rows as they were, nothing evaluated twice.
  t.budget_minutes = 0;
  r = run_tune(t, nullptr, nullptr);
  TuneStore s(o.db, false);
  const auto all = s.candidates(-1);
  ASSERT_GT(all.size(), 10u);
  EXPECT_LE(all.size(), 200u);
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(all[i].knobs, first[i].knobs);
    EXPECT_EQ(all[i].cost_s, first[i].cost_s);
    EXPECT_EQ(all[i].status, first[i].status);
  }
  EXPECT_EQ(all[9].status, CandidateStatus::Ok) << all[9].log;
  EXPECT_EQ(all[9].check_seed, 77u);
  std::set<std::string> knobs;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].id, int64_t(i + 1));
    EXPECT_TRUE(knobs.insert(all[i].knobs.dump()).second) << "candidate " << all[i].id << " evaluated twice";
  }
  SearchTree tree = tree_of(all, space);
  const ParetoProgress prog = pareto_progress(tree, ctx);
  if (all.size() < 200) {
    EXPECT_FALSE(prog.next);
    EXPECT_NE(r.stop_reason.find("nothing new"), std::string::npos) << r.stop_reason;
  }
  expect_pareto_tree(tree, prog);
  ASSERT_TRUE(r.best);
  EXPECT_LE(r.best->cost_s, all[0].cost_s);
}

TEST(ParetoPolicy, CommandLineRunsEndToEnd) {
  test::TempDir tmp;
  const std::string db = tmp.file("tune/tiny.db");
  test::RunResult r = run_tessera("tune --shape tiny --policy pareto --db " + db +
                                  " --budget-candidates 7 --context 32 --space o_rows_per_task,kv_splits,queue_order");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("7 tried"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(predicted)"), std::string::npos) << r.err;
  EXPECT_TRUE(validate_plan(load_plan(tmp.file("tune/best_plan.json"))).ok());
  r = run_tessera("tune --report --db " + db + " --md " + tmp.file("r.md"));
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string md = test::slurp(tmp.file("r.md"));
  EXPECT_NE(md.find("policy pareto"), std::string::npos) << md;
  TuneStore s(db, false);
  std::set<std::string> ops;
  for (const CandidateRecord& c : s.candidates(-1)) ops.insert(c.op);
  EXPECT_EQ(ops, (std::set<std::string>{"seed", "pareto-kind:o", "pareto-kind:attention", "pareto-kind:schedule"}));
  // The sweep compares it with the others, from a given start.
  r = run_tessera("tune --sweep --shape tiny --sweep-knobs kv_splits,queue_order --sweep-seeds 1 --sweep-policies "
                  "pareto,random --start-knob kv_splits=1 --start-knob queue_order=round_robin --md " + tmp.file("s.md"));
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string sweep = test::slurp(tmp.file("s.md"));
  EXPECT_NE(sweep.find("start knobs `kv_splits=1 queue_order=round_robin` (the root)"), std::string::npos) << sweep;
  EXPECT_NE(sweep.find("| pareto | 1 | 1 |"), std::string::npos) << sweep;
  r = run_tessera("tune --shape tiny --policy pareto --structural --budget-candidates 3 --db " + tmp.file("s.db"));
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_NE(r.err.find("varies knob sets only"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tessera

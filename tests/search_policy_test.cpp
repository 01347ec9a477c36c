// Policies on a synthetic landscape (no lowering: costs and failures are a function of
// the knob set), so the rules themselves are what is tested: STARK never gives the root
// more than five children nor expands a node after three failed children; evolution
// crosses lineages; random search stays flat; a seed reproduces a run.
#include <gtest/gtest.h>

#include <map>

#include "core/error.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "plan/plan_json.h"
#include "search/store.h"
#include "search/tune_loop.h"

namespace tessera {
namespace {

struct Landscape {
  KnobSpace space{shape_config("llama-3.2-1b"), target_preset("sm_90a"), 4096};
  double fail_rate = 0.3;

  Evaluation eval(const Proposal& p) const {
    Evaluation e;
    uint64_t h = std::hash<std::string>{}(knob_set_text(*p.knobs));
    if (double(h % 1000) / 1000 < fail_rate) {
      e.status = CandidateStatus::Incorrect;
      e.log = "planted failure";
      return e;
    }
    e.status = CandidateStatus::Ok;
    e.cost_kind = CostKind::Predicted;
    // A smooth bowl plus a little noise: counter_granularity=op and small tiles cost more.
    double c = 1.0;
    for (const auto& [k, v] : *p.knobs) c += double(std::hash<std::string>{}(k + v) % 97) / 970.0;
    e.cost_s = c * 1e-3;
    return e;
  }

  SearchTree run(Policy& policy, uint64_t seed, int steps, std::vector<std::string>* trace = nullptr) const {
    SearchTree tree;
    SearchRng rng(seed);
    int64_t next = 1;
    SearchHooks hooks;
    hooks.begin = [&](const Proposal& p, uint64_t) {
      if (trace) trace->push_back(p.op + ":" + knob_set_text(*p.knobs));
      return next++;
    };
    hooks.evaluate = [&](const Proposal& p, uint64_t) { return eval(p); };
    hooks.finish = [](int64_t, const Proposal&, const Evaluation&) {};
    Proposal root{-1, "seed", {}, space.from_config(space.base()), nullptr};
    Evaluation re = eval(root);
    re.status = CandidateStatus::Ok;
    re.cost_kind = CostKind::Predicted;
    re.cost_s = 2e-3;
    tree.add(tree_node(next++, root, re));
    for (int i = 0; i < steps; ++i)
      if (!search_step(tree, policy, rng, hooks)) break;
    return tree;
  }
};

TEST(SearchPolicy, StarkThrottlesTheRootAndPrunesDeadBranches) {
  Landscape land;
  land.fail_rate = 0.45;
  auto policy = make_policy("stark", builtin_operators(land.space));
  SearchTree tree = land.run(*policy, 4, 300);  // seed 3 drew five failing root children: a dead root, 6 nodes
  ASSERT_GT(tree.size(), 50u);
  const int64_t root = *tree.root();
  EXPECT_LE(tree.node(root).children.size(), 5u);
  int pruned = 0;
  for (int64_t id : tree.ids()) {
    EXPECT_LE(tree.failing_children(id), 3) << "node " << id << " was expanded after its branch died";
    pruned += tree.failing_children(id) == 3;
    if (tree.node(id).status != CandidateStatus::Ok) { EXPECT_TRUE(tree.node(id).children.empty()); }
  }
  EXPECT_GT(pruned, 0);  // the rule was exercised
  int deep = 0;
  for (int64_t id : tree.ids()) deep += tree.node(id).depth >= 3;
  EXPECT_GT(deep, 0);  // it deepens instead of restarting from the root
}

TEST(SearchPolicy, EvolveCrossesLineagesAndRandomStaysFlat) {
  Landscape land;
  auto evolve = make_policy("evolve", builtin_operators(land.space));
  SearchTree t = land.run(*evolve, 4, 200);
  int crossovers = 0;
  for (int64_t id : t.ids()) crossovers += t.node(id).op == "crossover";
  EXPECT_GT(crossovers, 0);
  auto random = make_policy("random", builtin_operators(land.space));
  SearchTree r = land.run(*random, 4, 60);
  for (int64_t id : r.ids()) { EXPECT_LE(r.node(id).depth, 1); }
  EXPECT_EQ(r.size(), 61u);
}

TEST(SearchPolicy, ASeedReproducesARunAndNamesAreChecked) {
  Landscape land;
  std::vector<std::string> a, b;
  auto p1 = make_policy("stark", builtin_operators(land.space));
  auto p2 = make_policy("stark", builtin_operators(land.space));
  land.run(*p1, 9, 40, &a);
  land.run(*p2, 9, 40, &b);
  EXPECT_EQ(a, b);
  try {
    make_policy("greedy", {});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("available: stark, evolve, pareto, pareto-step, random"), std::string::npos) << e.what();
  }
  EXPECT_EQ(make_policy("pareto", {})->name(), "pareto");
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

// Proposes the same whole plan twice, then another: the second proposal of the first
// plan must not be evaluated again (structural rewrites can reach one plan twice).
class RepeatingPlans : public Policy {
 public:
  RepeatingPlans(std::shared_ptr<const Plan> a, std::shared_ptr<const Plan> b) : a_(std::move(a)), b_(std::move(b)) {}
  std::string name() const override { return "repeating"; }
  std::optional<Proposal> next(const SearchTree& tree, SearchRng&) override {
    const auto& order = calls_ < 2 ? a_ : b_;
    ++calls_;
    if (calls_ > 3) return std::nullopt;
    return Proposal{*tree.root(), "rewrite", {}, std::nullopt, order};
  }

 private:
  std::shared_ptr<const Plan> a_, b_;
  int calls_ = 0;
};

TEST(SearchStep, AWholePlanAlreadyInTheTreeIsNotEvaluatedAgain) {
  const ModelConfig cfg = shape_config("tiny");
  const Target target = target_preset("sm_90a");
  LowerConfig k1, k2;
  k2.kv_splits = 2;
  auto a = std::make_shared<const Plan>(lower(cfg, target, k1, 64));
  auto b = std::make_shared<const Plan>(lower(cfg, target, k2, 64));
  ASSERT_NE(content_hash(plan_to_json(*a)), content_hash(plan_to_json(*b)));

  SearchTree tree;
  TreeNode root;
  root.id = 1;
  root.status = CandidateStatus::Ok;
  tree.add(root);
  RepeatingPlans policy(a, b);
  SearchRng rng(7);
  int64_t next = 2;
  std::vector<std::string> evaluated;
  SearchHooks hooks;
  hooks.begin = [&](const Proposal&, uint64_t) { return next++; };
  hooks.evaluate = [&](const Proposal& p, uint64_t) {
    Evaluation e;
    e.status = CandidateStatus::Ok;
    e.cost_kind = CostKind::Predicted;
    e.cost_s = 1e-3;
    e.plan_hash = content_hash(plan_to_json(*p.plan));
    evaluated.push_back(e.plan_hash);
    return e;
  };
  hooks.finish = [](int64_t, const Proposal&, const Evaluation&) {};
  ASSERT_TRUE(search_step(tree, policy, rng, hooks));   // a
  ASSERT_TRUE(search_step(tree, policy, rng, hooks));   // a again: skipped, then b
  EXPECT_FALSE(search_step(tree, policy, rng, hooks));  // the policy has nothing left
  ASSERT_EQ(evaluated.size(), 2u);
  EXPECT_EQ(evaluated[0], content_hash(plan_to_json(*a)));
  EXPECT_EQ(evaluated[1], content_hash(plan_to_json(*b)));
  EXPECT_TRUE(tree.seen_plan(evaluated[0]));
}

}  // namespace
}  // namespace tessera

// The structural rewrites, each on its own (no loop): on several seeds every rewritten plan
// passes the validator and reproduces the reference engine's tokens in the emulator on the
// tiny shape (through the ladder, which also predicts its cost), and each rewrite changes
// something the cost model sees on a plan where it should.
#include <gtest/gtest.h>

#include <algorithm>

#include "model/shapes.h"
#include "plan/lower.h"
#include "plan/plan_stats.h"
#include "search/evaluate.h"
#include "search/rewrite.h"
#include "search/rewrite_recipe.h"
#include "search/rewrite_schedule.h"
#include "search_test_settings.h"
#include "test_util.h"
#include "validate/validate.h"

namespace tessera {
namespace {

EvalSettings tiny_settings() {
  EvalSettings s = test::tiny_search_settings();
  s.position = 20;
  return s;
}

// Attention unfolded unless asked (the rewrites of attention need its tasks).
Plan tiny_plan(const std::vector<std::string>& knobs) {
  const EvalSettings s = tiny_settings();
  LowerConfig k;
  k.fold_attention = "off";
  for (const std::string& kv : knobs) k.set(kv);
  return lower(s.model, s.target, k, s.context, "tiny");
}

double predicted(const Plan& p) {
  const EvalSettings s = tiny_settings();
  return predict_step(p, s.cost, s.position).seconds;
}

int64_t max_queue_bytes(const Plan& p, int64_t pos) {
  std::vector<int64_t> per(p.queues.size(), 0);
  const std::vector<int64_t> bytes = task_loads(p, pos);
  for (const Task& t : p.tasks) per[size_t(t.sm)] += bytes[size_t(t.id)];
  return *std::max_element(per.begin(), per.end());
}

// Through the ladder as a whole-plan candidate: validator, emulator on tiny against the
// reference (tokens and logits), predicted cost.
void expect_correct(const Plan& p, uint64_t seed, const std::string& what) {
  const EvalSettings s = tiny_settings();
  KnobSpace space(s.model, s.target, s.context);
  Proposal prop{-1, what, {}, std::nullopt, std::make_shared<const Plan>(p)};
  Evaluation ev = evaluate_candidate(prop, space, s, seed);
  EXPECT_EQ(ev.status, CandidateStatus::Ok) << what << ": " << ev.log;
  EXPECT_EQ(ev.cost_kind, CostKind::Predicted) << what;
}

// Applies `name` over seeds 1..n to `base`; every result is valid and correct. Returns the
// results that changed the plan.
std::vector<RewriteOutcome> run_seeds(const std::string& name, const Plan& base, int n) {
  std::vector<RewriteOutcome> out;
  for (int seed = 1; seed <= n; ++seed) {
    RewriteParams rp;
    rp.seed = uint64_t(seed);
    rp.pos = tiny_settings().position;
    std::string why;
    auto r = apply_rewrite(name, base, rp, &why);
    if (!r) {
      EXPECT_EQ(why.find("validator"), std::string::npos) << name << " seed " << seed << ": " << why;
      continue;
    }
    EXPECT_TRUE(validate_plan(r->plan).ok()) << name << " seed " << seed;
    EXPECT_NE(r->plan, base) << name << " seed " << seed;
    expect_correct(r->plan, uint64_t(seed), name + " seed " + std::to_string(seed));
    out.push_back(std::move(*r));
  }
  return out;
}

TEST(SearchRewrite, RebalanceLowersTheMostLoadedQueueOfAnUnbalancedPlan) {
  const Plan rr = tiny_plan({"sms=8", "queue_order=round_robin"});
  const int64_t pos = tiny_settings().position;
  auto results = run_seeds("rebalance", rr, 4);
  ASSERT_EQ(results.size(), 4u);
  for (const RewriteOutcome& r : results) {
    EXPECT_LT(max_queue_bytes(r.plan, pos), max_queue_bytes(rr, pos));
    EXPECT_EQ(r.plan.tasks.size(), rr.tasks.size());
    EXPECT_EQ(r.detail["max_queue_bytes_before"].get<int64_t>(), max_queue_bytes(rr, pos));
  }
  // Different seeds make different moves.
  EXPECT_NE(results[0].plan.queues, results[1].plan.queues);
}

TEST(SearchRewrite, ReorderByCriticalPathRepairsAWeakOrder) {
  const int64_t pos = tiny_settings().position;
  const Plan base = tiny_plan({"sms=8", "kv_splits=4"});
  // The weak plan: every queue runs the task with the shortest remaining path first.
  const Plan weak = reorder_queues(base, {}, false, pos);
  ASSERT_TRUE(validate_plan(weak).ok()) << validate_plan(weak).to_text();
  const Plan good = reorder_queues(weak, {}, true, pos);
  ASSERT_TRUE(validate_plan(good).ok()) << validate_plan(good).to_text();
  EXPECT_LT(predicted(good), predicted(weak));
  expect_correct(weak, 3, "weak order");
  auto results = run_seeds("reorder", weak, 4);
  EXPECT_GE(results.size(), 2u);
  for (const RewriteOutcome& r : results) EXPECT_LE(predicted(r.plan), predicted(weak));
}

TEST(SearchRewrite, RetileSplitsAndMergesTilesKeepingJoinsWhole) {
  const Plan base = tiny_plan({"sms=8", "o_rows_per_task=32", "gate_up_rows_per_task=16"});
  auto results = run_seeds("retile", base, 6);
  ASSERT_GE(results.size(), 4u);
  bool split = false, merged = false, cost_moved = false;
  const PlanStats before = plan_stats(base, 1e9, 20, "test");
  for (const RewriteOutcome& r : results) {
    const int64_t d = int64_t(r.plan.tasks.size()) - int64_t(base.tasks.size());
    EXPECT_TRUE(d == 1 || d == -1) << r.detail.dump();
    split |= d == 1;
    merged |= d == -1;
    // Every wait is still a full join of its counter.
    for (const Counter& c : r.plan.counters) EXPECT_TRUE(full_joins_only(r.plan, c.id)) << c.name;
    // The cost model sees the tile count; the step time only when the tile is on the path.
    const PlanStats after = plan_stats(r.plan, 1e9, 20, "test");
    EXPECT_EQ(after.tasks_per_op[size_t(Op::NormMatvec)], before.tasks_per_op[size_t(Op::NormMatvec)] + d);
    cost_moved |= predicted(r.plan) != predicted(base);
  }
  EXPECT_TRUE(cost_moved);
  EXPECT_TRUE(split);
  EXPECT_TRUE(merged);
}

TEST(SearchRewrite, SplitKvChangesOneLayerOnly) {
  const Plan base = tiny_plan({"sms=8", "kv_splits=1"});
  ASSERT_EQ(layer_kv_splits(base), (std::vector<int>{1, 1}));
  auto results = run_seeds("split_kv", base, 4);
  ASSERT_EQ(results.size(), 4u);
  for (const RewriteOutcome& r : results) {
    const std::vector<int> now = layer_kv_splits(r.plan);
    ASSERT_EQ(now.size(), 2u);
    EXPECT_EQ((now[0] != 1) + (now[1] != 1), 1) << r.detail.dump();
  }
  // Back and forth: 1 -> 4 -> 2 -> 1 on layer 1, each step valid and correct, and the
  // attention at a long position is cheaper split.
  auto four = set_layer_kv_splits(base, 1, 4, 20);
  ASSERT_TRUE(four);
  auto two = set_layer_kv_splits(*four, 1, 2, 20);
  ASSERT_TRUE(two);
  auto one = set_layer_kv_splits(*two, 1, 1, 20);
  ASSERT_TRUE(one);
  for (const Plan* p : {&*four, &*two, &*one}) {
    EXPECT_TRUE(validate_plan(*p).ok()) << validate_plan(*p).to_text();
    expect_correct(*p, 7, "split_kv chain");
  }
  EXPECT_EQ(layer_kv_splits(*one), (std::vector<int>{1, 1}));
  EXPECT_EQ(one->tasks.size(), base.tasks.size());
  EXPECT_EQ(one->counters.size(), base.counters.size());
  EXPECT_FALSE(set_layer_kv_splits(base, 2, 4, 20));  // tiny has two layers
}

TEST(SearchRewrite, RecipesReplayExactlyAndNamesAreChecked) {
  const EvalSettings s = tiny_settings();
  KnobSpace space(s.model, s.target, s.context);
  LowerConfig k;
  k.set("sms=8");
  k.set("fold_attention=off");  // every rewrite has attention tasks to act on
  nlohmann::json recipe = recipe_from_knobs(space.from_config(k));
  Plan p = lower(s.model, s.target, space.to_config(space.from_config(k)), s.context, "tiny");
  for (const std::string& name : rewrite_names()) {
    for (uint64_t seed = 1; seed < 20; ++seed) {
      RewriteParams rp{seed, s.position};
      if (auto r = apply_rewrite(name, p, rp)) {
        p = r->plan;
        recipe = recipe_with(recipe, name, rp);
        break;
      }
    }
  }
  // reorder has nothing to change on a freshly lowered plan: lowering already emits each
  // queue in an order no other ready task would beat on remaining path.
  ASSERT_GE(recipe["rewrites"].size(), 3u) << recipe.dump();
  RecipeReplay again = replay_recipe(recipe, space, s.model, s.target, s.context, "tiny", true);
  EXPECT_EQ(again.plan, p);
  EXPECT_EQ(again.applied, int(recipe["rewrites"].size()));
  nlohmann::json bad = recipe;
  bad["rewrites"][0]["op"] = "fuse_everything";
  EXPECT_NE(test::error_of([&] { replay_recipe(bad, space, s.model, s.target, s.context, "tiny", true); })
                .find("unknown rewrite 'fuse_everything'"),
            std::string::npos);
}

}  // namespace
}  // namespace tessera

// The evaluation ladder: a plan the validator rejects and a validator-accepted plan that
// computes the wrong numbers are both stopped before any cost is given, and never become
// the best; a GPU Measurer's verdicts and times flow through labelled "measured"; and
// "faster" means faster beyond the noise.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "search/evaluate.h"
#include "search/tune_loop.h"
#include "search_test_settings.h"

namespace tessera {
namespace {

EvalSettings tiny_settings() { return test::tiny_search_settings(); }

std::shared_ptr<const Plan> tiny_plan(const EvalSettings& s, void (*plant)(Plan&)) {
  LowerConfig k;
  k.set("sms=8");
  Plan p = lower(s.model, s.target, k, s.context, "tiny");
  plant(p);
  return std::make_shared<const Plan>(std::move(p));
}

void drop_a_wait(Plan& p) {
  for (Task& t : p.tasks)
    if ((t.op == Op::AttnPartial || t.op == Op::AttnMatvec) && !t.waits.empty()) {
      t.waits.clear();
      return;
    }
}

// Same footprints, counters and order (the validator cannot tell), different math.
void wrong_eps(Plan& p) {
  for (Task& t : p.tasks)
    if (t.op == Op::LmHeadArgmax) t.p.eps = 10.0f;
}

TEST(SearchLadder, PlantedWrongPlansAreStoppedAndNeverBest) {
  const EvalSettings s = tiny_settings();
  KnobSpace space(s.model, s.target, s.context);
  Proposal rejected{-1, "planted", {}, std::nullopt, tiny_plan(s, drop_a_wait)};
  Evaluation r = evaluate_candidate(rejected, space, s, 1);
  EXPECT_EQ(r.status, CandidateStatus::Rejected) << r.log;
  EXPECT_EQ(r.log.rfind("validator: ", 0), 0u) << r.log;
  EXPECT_EQ(r.cost_kind, CostKind::None);

  Proposal incorrect{-1, "planted", {}, std::nullopt, tiny_plan(s, wrong_eps)};
  Evaluation w = evaluate_candidate(incorrect, space, s, 2);
  EXPECT_EQ(w.status, CandidateStatus::Incorrect) << w.log;
  EXPECT_NE(w.log.find("weights seed 2"), std::string::npos) << w.log;
  EXPECT_EQ(w.cost_kind, CostKind::None);

  // In a search: a policy that proposes the planted plans as children of the root, then
  // honest mutations. The best is always an honest, ok candidate.
  struct Scripted : Policy {
    std::vector<Proposal> planted;
    std::shared_ptr<VariationOperator> mutate;
    std::string name() const override { return "scripted"; }
    std::optional<Proposal> next(const SearchTree& tree, SearchRng& rng) override {
      if (!planted.empty()) {
        Proposal p = planted.back();
        planted.pop_back();
        p.parent = *tree.root();
        return p;
      }
      return mutate->propose(tree, {*tree.best()}, rng);
    }
  } policy;
  policy.planted = {rejected, incorrect};
  policy.mutate = make_knob_mutation(space);
  SearchTree tree;
  SearchRng rng(5);
  int64_t next = 1;
  SearchHooks hooks;
  hooks.begin = [&](const Proposal&, uint64_t) { return next++; };
  hooks.evaluate = [&](const Proposal& p, uint64_t seed) { return evaluate_candidate(p, space, s, seed); };
  hooks.finish = [](int64_t, const Proposal&, const Evaluation&) {};
  KnobSet root_knobs = space.from_config(space.base());
  root_knobs["sms"] = "8";
  Proposal root{-1, "seed", {}, root_knobs, nullptr};
  Evaluation rev = evaluate_candidate(root, space, s, 9);
  ASSERT_EQ(rev.status, CandidateStatus::Ok) << rev.log;
  tree.add(tree_node(next++, root, rev));
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(search_step(tree, policy, rng, hooks));
    const TreeNode& b = tree.node(*tree.best());
    EXPECT_NE(b.op, "planted");
    EXPECT_EQ(b.status, CandidateStatus::Ok);
  }
  EXPECT_EQ(tree.node(2).status, CandidateStatus::Incorrect);
  EXPECT_EQ(tree.node(3).status, CandidateStatus::Rejected);
  EXPECT_EQ(tree.failing_children(1), 2);
}

TEST(SearchLadder, MeasurerVerdictsAndTimesAreLabelledMeasured) {
  struct Fake : Measurer {
    std::string name() const override { return "fake-gpu"; }
    std::string verify(const Plan& p) override { return p.config["kv_splits"] == 4 ? "logits differ at 3" : ""; }
    Measurement measure(const Plan& p) override {
      if (p.config["kv_splits"] == 2) return {0, 0, "watchdog fired"};
      return {1e-3, 0.02, ""};
    }
  } fake;
  EvalSettings s = tiny_settings();
  s.measurer = &fake;
  KnobSpace space(s.model, s.target, s.context);
  auto knobs = [&](const char* splits) {
    KnobSet k = space.from_config(space.base());
    k["sms"] = "8";
    k["kv_splits"] = splits;
    return Proposal{-1, "seed", {}, k, nullptr};
  };
  Evaluation ok = evaluate_candidate(knobs("1"), space, s, 1);
  EXPECT_EQ(ok.status, CandidateStatus::Ok) << ok.log;
  EXPECT_EQ(ok.cost_kind, CostKind::Measured);
  EXPECT_DOUBLE_EQ(ok.spread, 0.02);
  EXPECT_EQ(evaluate_candidate(knobs("4"), space, s, 1).status, CandidateStatus::Incorrect);
  Evaluation failed = evaluate_candidate(knobs("2"), space, s, 1);
  EXPECT_EQ(failed.status, CandidateStatus::RunFailed);
  EXPECT_NE(failed.log.find("watchdog fired"), std::string::npos);
}

TEST(SearchLadder, FasterMeansBeyondTheNoise) {
  EXPECT_TRUE(faster_beyond_noise(0.99, 0, CostKind::Predicted, 1.0, 0, CostKind::Predicted));
  EXPECT_FALSE(faster_beyond_noise(1.0, 0, CostKind::Predicted, 1.0, 0, CostKind::Predicted));
  // 2% faster with 5% spreads: inside the noise.
  EXPECT_FALSE(faster_beyond_noise(0.98, 0.05, CostKind::Measured, 1.0, 0.05, CostKind::Measured));
  EXPECT_TRUE(faster_beyond_noise(0.90, 0.05, CostKind::Measured, 1.0, 0.05, CostKind::Measured));
  EXPECT_THROW(faster_beyond_noise(0.5, 0, CostKind::Predicted, 1.0, 0, CostKind::Measured), Error);
}

}  // namespace
}  // namespace tessera

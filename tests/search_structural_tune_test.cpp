// Structural operators in the loop: `tessera tune --structural` proposes rewrites of the
// parents' plans, evaluates them through the ladder and stores them as whole plans with a
// recipe; a structural candidate left pending by a killed run is re-derived from its recipe
// on --resume; and a model too large to emulate has its structural candidates checked by
// replaying the recipe on the check shape.
#include <gtest/gtest.h>

#include <set>

#include "model/shapes.h"
#include "plan/lower.h"
#include "plan/plan_json.h"
#include "search/evaluate.h"
#include "search/rewrite.h"
#include "search/rewrite_recipe.h"
#include "search/store.h"
#include "search_test_settings.h"
#include "test_util.h"
#include "validate/validate.h"

namespace tessera {
namespace {

using test::run_tessera;

bool is_structural(const std::string& op) {
  for (const std::string& n : rewrite_names())
    if (n == op) return true;
  return false;
}

TEST(SearchStructuralTune, StructuralCandidatesAreProposedEvaluatedStoredAndResumed) {
  test::TempDir tmp;
  const std::string db = tmp.file("tune/tiny.db");
  test::RunResult r = run_tessera("tune --shape tiny --db " + db +
                                  " --budget-candidates 24 --seed 3 --start-knob sms=8 --start-knob "
                                  "queue_order=round_robin --position 20 --context 32 --structural");
  ASSERT_EQ(r.rc, 0) << r.err;
  CandidateRecord copied;
  {
    TuneStore s(db, false);
    auto cs = s.candidates(-1);
    ASSERT_EQ(cs.size(), 24u);
    std::set<std::string> ops;
    int structural_ok = 0;
    for (const CandidateRecord& c : cs) {
      EXPECT_NE(c.status, CandidateStatus::Pending);
      if (!is_structural(c.op)) continue;
      ops.insert(c.op);
      EXPECT_TRUE(c.knobs.is_null()) << c.id;
      ASSERT_TRUE(c.op_params.contains("recipe")) << c.op_params.dump();
      EXPECT_TRUE(c.op_params.contains("detail"));
      if (c.status != CandidateStatus::Ok) continue;
      structural_ok += 1;
      EXPECT_EQ(c.cost_kind, CostKind::Predicted);
      auto json = s.plan_json(c.plan_hash);
      ASSERT_TRUE(json) << "structural candidate " << c.id << " has no stored plan";
      EXPECT_TRUE(validate_plan(parse_plan_json(*json, "stored")).ok());
      copied = c;
    }
    EXPECT_GE(structural_ok, 3) << r.err;
    EXPECT_GE(ops.size(), 2u);
    // A killed run's last candidate: recorded pending, its plan never stored.
    CandidateRecord p = copied;
    p.id = 0;
    p.status = CandidateStatus::Pending;
    p.plan_hash.clear();
    p.cost_kind = CostKind::None;
    p.cost_s = 0;
    p.log.clear();
    s.add_candidate(p);
  }
  r = run_tessera("tune --db " + db + " --resume --budget-candidates 26");
  ASSERT_EQ(r.rc, 0) << r.err;
  TuneStore s(db, false);
  auto again = s.candidate(25);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, CandidateStatus::Ok) << again->log;
  EXPECT_EQ(again->plan_hash, copied.plan_hash);  // the recipe re-derived the very plan
  EXPECT_EQ(s.candidates(-1).size(), 26u);
}

TEST(SearchStructuralTune, LargeModelsCheckTheRecipeOnTheCheckShape) {
  // tiny stands in for a large model by lowering the emulation limit below its size.
  EvalSettings s = test::tiny_search_settings();
  s.whole_plan_check_max_params = 1000;
  KnobSpace space(s.model, s.target, s.context);
  LowerConfig k;
  k.set("sms=8");
  k.set("fold_attention=off");  // split_kv needs attention tasks
  const KnobSet knobs = space.from_config(k);
  Plan base = lower(s.model, s.target, space.to_config(knobs), s.context, "tiny");
  RewriteParams rp{5, 1};
  auto rw = apply_rewrite("split_kv", base, rp);
  ASSERT_TRUE(rw);
  Proposal p{-1, "split_kv", {{"recipe", recipe_with(recipe_from_knobs(knobs), "split_kv", rp)}}, std::nullopt,
             std::make_shared<const Plan>(rw->plan)};
  Evaluation ev = evaluate_candidate(p, space, s, 4);
  EXPECT_EQ(ev.status, CandidateStatus::Ok) << ev.log;
  EXPECT_NE(ev.log.find("recipe checked on tiny: 1 of 1 rewrites applied there"), std::string::npos) << ev.log;
  // Without a recipe the same plan cannot be verified on the CPU.
  p.op_params = nlohmann::json::object();
  Evaluation un = evaluate_candidate(p, space, s, 4);
  EXPECT_EQ(un.status, CandidateStatus::Incorrect);
  EXPECT_NE(un.log.find("not verified"), std::string::npos) << un.log;
}

}  // namespace
}  // namespace tessera

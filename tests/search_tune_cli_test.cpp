// `tessera tune` end to end on the tiny shape: a small budget runs the whole ladder, keeps
// the best plan where `compile`'s consumers read plans, --resume continues the ids,
// --report writes markdown and SVG, and mistakes are usage errors.
#include <gtest/gtest.h>

#include "plan/plan_json.h"
#include "search/store.h"
#include "search/tune_loop.h"
#include "test_util.h"
#include "validate/validate.h"

namespace tessera {
namespace {

using test::run_tessera;

TEST(SearchTuneCli, TunesTinyResumesAndReports) {
  test::TempDir tmp;
  const std::string db = tmp.file("tune/tiny.db");
  test::RunResult r = run_tessera("tune --shape tiny --db " + db + " --budget-candidates 6 --seed 2 --start-knob sms=8");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("6 tried"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(predicted)"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("best plan:  " + tmp.file("tune/best_plan.json")), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("predicted"), std::string::npos) << r.out;
  Plan best = load_plan(tmp.file("tune/best_plan.json"));
  EXPECT_TRUE(validate_plan(best).ok());
  {
    TuneStore s(db, false);
    auto cs = s.candidates(-1);
    ASSERT_EQ(cs.size(), 6u);
    EXPECT_EQ(cs[0].op, "seed");
    for (const auto& c : cs) {
      EXPECT_NE(c.status, CandidateStatus::Pending);
      if (c.status == CandidateStatus::Ok) { EXPECT_EQ(c.cost_kind, CostKind::Predicted); }
    }
  }
  r = run_tessera("tune --db " + db + " --resume --budget-candidates 9");
  ASSERT_EQ(r.rc, 0) << r.err;
  {
    TuneStore s(db, false);
    auto cs = s.candidates(-1);
    ASSERT_EQ(cs.size(), 9u);
    for (size_t i = 0; i < cs.size(); ++i) { EXPECT_EQ(cs[i].id, int64_t(i + 1)); }
    EXPECT_EQ(s.runs().size(), 1u);
  }
  r = run_tessera("tune --db " + db + " --resume --shape stories260k --budget-candidates 10");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--resume continues run 1"), std::string::npos) << r.err;

  r = run_tessera("tune --report --db " + db + " --md " + tmp.file("r.md") + " --svg " + tmp.file("r.svg"));
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string md = test::slurp(tmp.file("r.md"));
  EXPECT_NE(md.find("## Run 1: tiny on sm_90a, policy stark"), std::string::npos) << md;
  EXPECT_NE(md.find("Lineage of the best"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1 | seed |"), std::string::npos) << md;
  EXPECT_NE(md.find("ms predicted"), std::string::npos) << md;
  const std::string svg = test::slurp(tmp.file("r.svg"));
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("predicted cost"), std::string::npos);
  EXPECT_NE(svg.find("class=\"best\" data-run=\"1\" data-candidate=\"9\""), std::string::npos) << svg;
}

TEST(SearchTuneCli, MistakesAreUsageErrorsOrNamedFailures) {
  test::TempDir tmp;
  struct Case {
    std::string args, needle;
    int rc;
  };
  {
    std::ofstream(tmp.file("junk.db")) << "not sqlite at all, not at all, not at all, not at all, not at all.";
  }
  const Case cases[] = {
      {"tune --shape tiny", "give --budget-minutes M or --budget-candidates K", 2},
      {"tune --budget-candidates 3", "exactly one of --model PATH and --shape NAME", 2},
      {"tune --report", "--report: give --db FILE", 2},
      {"tune --report --db " + tmp.file("none.db"), "none.db' does not exist", 1},
      {"tune --report --db " + tmp.file("junk.db"), "not a database", 1},
      {"tune --shape tiny --budget-candidates 3 --policy greedy --db " + tmp.file("p.db"), "unknown policy 'greedy'", 1},
      {"tune --shape tiny --budget-candidates 3 --space kv_splits,weight_dtype --db " + tmp.file("s.db"),
       "'weight_dtype' is not a searchable knob", 1},
      {"tune --shape tiny --budget-candidates 3 --start-knob kv_splits=x --db " + tmp.file("k.db"), "knob 'kv_splits'", 2},
      {"tune --sweep --shape tiny", "--sweep-knobs", 2},
  };
  for (const Case& c : cases) {
    test::RunResult r = run_tessera(c.args);
    EXPECT_EQ(r.rc, c.rc) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << c.args << "\n" << r.err;
  }
}

// Without a usable GPU (CI) `--measure gpu` fails with a message naming why, before any
// candidate is recorded as measured; a bad --measure value is a usage error.
TEST(SearchTuneCli, MeasureGpuNeedsADevice) {
  test::TempDir tmp;
  test::RunResult bad = run_tessera("tune --shape tiny --measure fast --budget-candidates 1 --db " + tmp.file("a.db"));
  EXPECT_EQ(bad.rc, 2) << bad.err;
  EXPECT_NE(bad.err.find("--measure"), std::string::npos) << bad.err;
  test::RunResult r = run_tessera("tune --shape tiny --measure gpu --budget-candidates 1 --db " + tmp.file("g.db"));
  if (r.rc == 0) GTEST_SKIP() << "a GPU is present: tests/cuda/gpu_measurer_test.cpp covers the measured path";
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_TRUE(r.err.find("no usable CUDA device") != std::string::npos ||
              r.err.find("built without a CUDA toolkit") != std::string::npos)
      << r.err;
  // The sweep takes the same measurer, and fails the same way before sweeping anything.
  test::RunResult sw = run_tessera("tune --sweep --shape tiny --sweep-knobs kv_splits --measure gpu");
  EXPECT_EQ(sw.rc, 1) << sw.err;
  EXPECT_TRUE(sw.err.find("no usable CUDA device") != std::string::npos ||
              sw.err.find("built without a CUDA toolkit") != std::string::npos)
      << sw.err;
  EXPECT_EQ(sw.err.find("sweep: 1/"), std::string::npos) << sw.err;

  // `tessera agent --measure gpu` needs a database, and without a device its evaluate
  // fails naming why (a build without CUDA refuses at start) rather than predicting.
  test::RunResult nodb = run_tessera("agent --measure gpu </dev/null");
  EXPECT_EQ(nodb.rc, 2) << nodb.err;
  EXPECT_NE(nodb.err.find("give --db FILE"), std::string::npos) << nodb.err;
  TuneOptions o;
  o.shape = "tiny";
  o.db = tmp.file("agent.db");
  o.budget_candidates = 1;
  run_tune(o, nullptr, nullptr);
  {
    std::ofstream(tmp.file("req.jsonl")) << R"({"op":"propose","parent":1,"knobs":{"kv_splits":2}})" "\n"
                                         << R"({"op":"evaluate","candidate":2})" "\n";
  }
  test::RunResult ag = run_tessera("agent --measure gpu --db " + o.db + " <" + tmp.file("req.jsonl"));
  if (ag.rc == 0 && ag.out.find("\"measured\"") != std::string::npos) GTEST_SKIP() << "a GPU is present";
  if (ag.rc == 0) {
    EXPECT_NE(ag.out.find("no usable CUDA device"), std::string::npos) << ag.out << ag.err;
  } else {
    EXPECT_EQ(ag.rc, 1) << ag.err;
    EXPECT_NE(ag.err.find("built without a CUDA toolkit"), std::string::npos) << ag.err;
  }
}

TEST(SearchTuneCli, SweepComparesPoliciesOnASmallSpace) {
  test::TempDir tmp;
  test::RunResult r = run_tessera("tune --sweep --shape tiny --sweep-knobs counter_granularity,fuse_norm,kv_splits "
                                  "--sweep-seeds 2 --md " + tmp.file("s.md"));
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string md = test::slurp(tmp.file("s.md"));
  EXPECT_NE(md.find("20 points, 20 pass the ladder (validator + emulator"), std::string::npos) << md;
  for (const char* p : {"| stark | 2 |", "| evolve | 2 |", "| pareto | 2 |", "| random | 2 |"}) { EXPECT_NE(md.find(p), std::string::npos) << md; }
  EXPECT_NE(md.find("predicted"), std::string::npos);
}

}  // namespace
}  // namespace tessera

// `tune --variant`: the agents rewriting an instruction variant inside the search loop,
// against the scripted OpenAI-compatible server. The judge here runs the real static gate
// and stands in for the compile and run gates (no GPU in CI): a source's time is 60 us,
// or 40 us when it loads uint4, so the keep rule and the costs can be checked exactly.
// The real gates on the GPU run the same script in tests/cuda/variant_tune_gpu_test.cpp.
#include <gtest/gtest.h>

#include "agents/variant_guard.h"
#include "agents_scripted_server.h"
#include "search/report.h"
#include "search/variant_tune.h"
#include "test_util.h"

namespace tessera {
namespace {

using nlohmann::json;
using test::reply_file;

class FakeJudge : public VariantJudge {
 public:
  std::string name() const override { return "fake judge"; }
  static double time_of(const std::string& src) { return src.find("uint4") != std::string::npos ? 40e-6 : 60e-6; }
  VariantVerdict judge(const std::string& source, const std::string& leader) override {
    judged += 1;
    leaders.push_back(leader);
    const agents::GuardReport g = agents::check_variant(source, variants::guard_policy(variants::variant_spec("matvec_bf16")));
    json findings = json::array();
    for (const auto& f : g.findings) findings.push_back({{"line", f.line}, {"rule", f.rule}, {"message", f.message}});
    VariantVerdict v;
    v.gates["static"] = {{"verdict", g.ok() ? "pass" : "reject"}, {"findings", findings}};
    if (!g.ok()) {
      v.gates["compile"] = {{"verdict", "skipped"}};
      v.gates["run"] = {{"verdict", "skipped"}};
    } else {
      v.ptx = source;  // the fake "image" is the source, so the leader's time is known
      const double mine = time_of(source), theirs = time_of(leader.empty() ? source : leader);
      v.gates["compile"] = {{"verdict", "pass"}, {"arch", "fake"}, {"seconds", 0.0}};
      v.gates["run"] = {{"verdict", "pass"},
                        {"kind", "pass"},
                        {"reason", "fake"},
                        {"timing",
                         {{"shape", {14336, 4096}},
                          {"pairs", 30},
                          {"candidate_median_s", mine},
                          {"candidate_spread", 0.01},
                          {"leader_median_s", theirs},
                          {"ratio_median", mine / theirs},
                          {"ratio_p10", mine / theirs * 0.995},
                          {"ratio_p90", mine / theirs * 1.005},
                          {"weight_bytes", int64_t(14336) * 4096 * 2}}}};
    }
    v.status = *variant_status(v.gates);
    v.log = variant_gates_log(v.gates);
    if (v.status == CandidateStatus::Ok) {
      const json& t = v.gates["run"]["timing"];
      v.median_s = t["candidate_median_s"];
      v.spread = t["candidate_spread"];
      v.ratio.pairs = t["pairs"];
      v.ratio.median = t["ratio_median"];
      v.ratio.p10 = t["ratio_p10"];
      v.ratio.p90 = t["ratio_p90"];
    }
    return v;
  }
  std::string compile(const std::string& source) override {
    compiled += 1;
    return source;
  }
  int judged = 0, compiled = 0;
  std::vector<std::string> leaders;
};

VariantTuneOptions options(const test::TempDir& tmp, const test::ScriptedServer& server, int64_t candidates) {
  VariantTuneOptions o;
  o.db = tmp.file("tune/variant.db");
  o.budget_candidates = candidates;
  agents::LlmConfig c;
  c.base_url = server.url() + "/v1";
  c.model = "scripted-model";
  c.retry.base_delay_s = 0.01;
  c.retry.max_attempts = 1;
  c.timeout_s = 2;
  o.agents.client = std::make_shared<agents::LlmClient>(c);
  o.agents.prompts_dir = std::string(TESSERA_SOURCE_DIR) + "/prompts";
  o.variants_dir = std::string(TESSERA_SOURCE_DIR) + "/variants";
  return o;
}

TEST(SearchVariantTune, AgentsRewriteTheVariantAndTheFasterOneIsKept) {
  test::ScriptedServer server({reply_file("openai_variant_plan.json"), reply_file("openai_variant_code.json")});
  test::TempDir tmp;
  FakeJudge judge;
  const VariantTuneResult r = run_variant_tune(options(tmp, server, 2), judge, nullptr);
  EXPECT_EQ(r.total, 2);
  EXPECT_EQ(r.kept, 1);
  EXPECT_EQ(r.agents.calls, 2);
  EXPECT_EQ(r.stop_reason, "candidate budget of 2 reached");
  ASSERT_TRUE(r.best && r.root);
  EXPECT_DOUBLE_EQ(r.root->cost_s, 60e-6) << "the root is timed against itself: its own median";
  EXPECT_NEAR(r.best->cost_s, 40e-6, 1e-12) << "the child costs the root's time x the ratio";
  EXPECT_EQ(r.best->op, "llm");
  EXPECT_EQ(r.best->cost_kind, CostKind::Measured);
  // The child was timed against the root's image, the root against itself.
  ASSERT_EQ(judge.leaders.size(), 2u);
  EXPECT_TRUE(judge.leaders[0].empty());
  EXPECT_EQ(judge.leaders[1], variant_source_of(*r.root));

  TuneStore s(tmp.file("tune/variant.db"), false);
  const auto cs = s.candidates(-1);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(s.runs()[0].model, "variant:matvec_bf16");
  const std::string src = variant_source_of(cs[1]);
  EXPECT_NE(src.find("const uint4* w8"), std::string::npos);
  EXPECT_EQ(src.find("IMPROVE"), std::string::npos) << "anchors are removed from the evaluated source";
  EXPECT_NE(cs[1].op_params["edited_anchored"].get<std::string>().find("<<<IMPROVE BEGIN>>>"), std::string::npos);
  EXPECT_NE(cs[1].op_params["advice"][0].get<std::string>().find("uint4"), std::string::npos);
  EXPECT_NE(cs[1].log.find("timed at 14336x4096"), std::string::npos) << cs[1].log;
  EXPECT_EQ(cs[1].plan_hash, content_hash(src));
  EXPECT_EQ(test::slurp(tmp.file("tune/best_variant.cu")), src);
  const auto ts = s.transcripts(-1, cs[1].id);
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].role, "plan");
  EXPECT_EQ(ts[1].role, "code");
  // The plan agent saw the source in a cuda fence, the entry's contract and how time is measured.
  const std::string prompt = json::parse(server.received()[0].body)["messages"][1]["content"];
  EXPECT_NE(prompt.find("```cuda"), std::string::npos);
  EXPECT_NE(prompt.find("__device__ void tessera_variant("), std::string::npos);
  EXPECT_NE(prompt.find("14336x4096"), std::string::npos) << prompt;
  // The report prints the best's source once, not inside the lineage table.
  const std::string md = tune_report_markdown(s);
  EXPECT_NE(md.find("Source of the best variant:\n\n```cuda\n" + src), std::string::npos) << md;
  EXPECT_NE(md.find("\"source\":\"("), std::string::npos) << md;
  EXPECT_EQ(md.find("const uint4* w8"), md.rfind("const uint4* w8")) << "the source appears once";
}

TEST(SearchVariantTune, AVariantTheGateRejectsIsRepairedByTheDebugAgent) {
  test::ScriptedServer server({reply_file("openai_variant_plan.json"), reply_file("openai_variant_code_broken.json"),
                               reply_file("openai_variant_debug_fix.json")});
  test::TempDir tmp;
  FakeJudge judge;
  const VariantTuneResult r = run_variant_tune(options(tmp, server, 3), judge, nullptr);
  EXPECT_EQ(r.agents.calls, 3);
  TuneStore s(tmp.file("tune/variant.db"), false);
  const auto cs = s.candidates(-1);
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[1].op, "llm");
  EXPECT_EQ(cs[1].status, CandidateStatus::Rejected);
  EXPECT_NE(cs[1].log.find("printf"), std::string::npos) << cs[1].log;
  EXPECT_EQ(cs[2].op, "llm_debug");
  EXPECT_EQ(cs[2].op_params["repairs"], cs[1].id);
  EXPECT_EQ(cs[2].parent, cs[0].id);
  EXPECT_EQ(cs[2].status, CandidateStatus::Ok) << cs[2].log;
  EXPECT_EQ(variant_source_of(cs[2]).find("printf"), std::string::npos);
  // The debug agent saw the gate's finding and the failed source with the marks in place.
  const std::string prompt = json::parse(server.received()[2].body)["messages"][1]["content"];
  EXPECT_NE(prompt.find("static gate: reject"), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("<<<IMPROVE BEGIN>>>"), std::string::npos);
  EXPECT_NE(prompt.find("printf(\"first piece"), std::string::npos);
  ASSERT_TRUE(r.best);
  EXPECT_EQ(r.best->id, cs[2].id);
}

TEST(SearchVariantTune, ResumeKeepsTheRunAndRecompilesTheLeader) {
  test::TempDir tmp;
  {
    test::ScriptedServer server({reply_file("openai_variant_plan.json"), reply_file("openai_variant_code.json")});
    FakeJudge judge;
    run_variant_tune(options(tmp, server, 2), judge, nullptr);
  }
  // A candidate left pending by a killed run is judged on resume, against the kept best.
  {
    TuneStore s(tmp.file("tune/variant.db"), false);
    CandidateRecord c;
    c.run = 1;
    c.parent = 2;
    c.op = "llm";
    c.op_params = {{"entry", "matvec_bf16"}, {"source", variant_source_of(*s.candidate(2)) + "// resumed\n"}};
    s.add_candidate(c);
  }
  test::ScriptedServer server({});
  FakeJudge judge;
  VariantTuneOptions o = options(tmp, server, 0);
  o.resume = true;
  const VariantTuneResult r = run_variant_tune(o, judge, nullptr);
  EXPECT_EQ(judge.compiled, 1) << "the kept best's image is rebuilt once";
  EXPECT_EQ(judge.judged, 1);
  EXPECT_EQ(r.total, 3);
  EXPECT_EQ(r.stop_reason, "candidate budget of 2 reached") << "the run's recorded budget";
  TuneStore s(tmp.file("tune/variant.db"), false);
  EXPECT_EQ(s.runs().size(), 1u);
  const auto c3 = s.candidate(3);
  ASSERT_TRUE(c3);
  EXPECT_EQ(c3->status, CandidateStatus::Ok);
  EXPECT_NEAR(c3->cost_s, 40e-6, 1e-12);
  ASSERT_TRUE(r.best);
  EXPECT_EQ(r.best->id, 2) << "equal time is not a win";
}

TEST(SearchVariantTune, MistakesAreClearErrors) {
  test::TempDir tmp;
  test::ScriptedServer server({});
  FakeJudge judge;
  VariantTuneOptions o = options(tmp, server, 2);
  o.agents.client.reset();
  EXPECT_THROW(run_variant_tune(o, judge, nullptr), UsageError);
  o = options(tmp, server, 2);
  o.entry = "softmax";
  try {
    run_variant_tune(o, judge, nullptr);
    FAIL() << "an unknown entry must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("known: matvec_bf16"), std::string::npos) << e.what();
  }
  auto r = test::run_tessera("tune --variant matvec_bf16 --shape tiny --agents llm --budget-candidates 2");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--shape does not apply"), std::string::npos) << r.err;
  r = test::run_tessera("tune --variant matvec_bf16 --budget-candidates 2");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("give --agents llm"), std::string::npos) << r.err;
  // A plan run's database is not resumed as a variant run.
  const std::string db = tmp.file("plan.db");
  ASSERT_EQ(test::run_tessera("tune --shape tiny --db " + db + " --budget-candidates 1").rc, 0);
  o = options(tmp, server, 2);
  o.db = db;
  o.resume = true;
  try {
    run_variant_tune(o, judge, nullptr);
    FAIL() << "a plan run must not resume as a variant run";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tunes plans, not a variant"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tessera

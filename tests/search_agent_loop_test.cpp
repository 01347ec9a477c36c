// The LLM agents inside the tuning loop, against the scripted OpenAI-compatible server (no
// network): a good knob edit becomes a stored, evaluated candidate with its transcripts; a
// broken edit (kv_splits past the context) fails the lowering and the debug agent's repair is evaluated as its sibling;
// a malformed reply, a 429 and a timeout are recorded while the run goes on with the
// built-in mutation (and three failures in a row switch the agents off); the call budget
// is respected. Each run has one parent to choose from when the agents are drawn (the root),
// so the canned plan reply, which must reproduce the parent exactly, fits.
#include <gtest/gtest.h>

#include "agents_scripted_server.h"
#include "search/tune_loop.h"
#include "test_util.h"

namespace tessera {
namespace {

using test::reply_file;

TuneOptions agent_options(const test::TempDir& tmp, const test::ScriptedServer& server, int64_t candidates) {
  TuneOptions o;
  o.shape = "tiny";
  o.db = tmp.file("tune/tiny.db");
  o.budget_candidates = candidates;
  o.seed = 3;
  agents::LlmConfig c;
  c.base_url = server.url() + "/v1";
  c.model = "scripted-model";
  c.retry.base_delay_s = 0.01;
  c.retry.max_attempts = 2;
  c.timeout_s = 0.3;
  o.agents.client = std::make_shared<agents::LlmClient>(c);
  o.agents.rate = 1.0;
  o.agents.prompts_dir = std::string(TESSERA_SOURCE_DIR) + "/prompts";
  return o;
}

TEST(SearchAgentLoop, GoodEditBecomesAnEvaluatedCandidateWithItsTranscripts) {
  test::ScriptedServer server({reply_file("openai_knob_plan.json"), reply_file("openai_knob_code.json")});
  test::TempDir tmp;
  const TuneResult r = run_tune(agent_options(tmp, server, 2), nullptr, nullptr);
  ASSERT_TRUE(r.agents);
  EXPECT_EQ(r.agents->calls, 2);
  EXPECT_EQ(r.agents->proposals, 1);
  EXPECT_EQ(r.agents->tokens, 900 + 120 + 950 + 40);
  TuneStore s(tmp.file("tune/tiny.db"), false);
  const auto cs = s.candidates(-1);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[1].op, "llm");
  EXPECT_EQ(cs[1].parent, cs[0].id);
  EXPECT_EQ(cs[1].status, CandidateStatus::Ok) << cs[1].log;
  EXPECT_EQ(cs[1].cost_kind, CostKind::Predicted);
  EXPECT_EQ(cs[1].knobs["gate_up_rows_per_task"], 64);
  EXPECT_EQ(cs[1].op_params["changed"], (nlohmann::json{{"gate_up_rows_per_task", "64"}}));
  EXPECT_NE(cs[1].op_params["advice"][0].get<std::string>().find("gate_up_rows_per_task 64"), std::string::npos);
  const auto ts = s.transcripts(-1, cs[1].id);
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].role, "plan");
  EXPECT_EQ(ts[1].role, "code");
  EXPECT_TRUE(ts[0].ok && ts[1].ok);
  EXPECT_EQ(ts[0].tokens_in, 900);
  EXPECT_EQ(ts[1].tokens_out, 40);
  EXPECT_TRUE(ts[1].usage_reported);
  EXPECT_GT(ts[0].latency_s, 0);
  EXPECT_NE(ts[1].transcript["text"].get<std::string>().find("/tiles/gate_up_rows_per_task"), std::string::npos);
  // The plan agent was shown the root's knob document and the lowered plan's summary.
  const auto sent = server.received();
  ASSERT_EQ(sent.size(), 2u);
  const std::string plan_prompt = nlohmann::json::parse(sent[0].body)["messages"][1]["content"];
  EXPECT_NE(plan_prompt.find("\"gate_up_rows_per_task\": 0"), std::string::npos);
  EXPECT_NE(plan_prompt.find("tasks on"), std::string::npos) << plan_prompt;
  EXPECT_NE(plan_prompt.find("predicted by the cost model"), std::string::npos);
}

TEST(SearchAgentLoop, BrokenEditIsRepairedByTheDebugAgent) {
  test::ScriptedServer server({reply_file("openai_knob_plan_attention.json"), reply_file("openai_knob_code_broken.json"),
                               reply_file("openai_knob_debug_fix.json")});
  test::TempDir tmp;
  const TuneResult r = run_tune(agent_options(tmp, server, 3), nullptr, nullptr);
  ASSERT_TRUE(r.agents);
  EXPECT_EQ(r.agents->calls, 3);
  TuneStore s(tmp.file("tune/tiny.db"), false);
  const auto cs = s.candidates(-1);
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[1].op, "llm");
  EXPECT_EQ(cs[1].status, CandidateStatus::BuildFailed);
  EXPECT_NE(cs[1].log.find("kv_splits=1000"), std::string::npos) << cs[1].log;
  EXPECT_EQ(cs[2].op, "llm_debug");
  EXPECT_EQ(cs[2].parent, cs[1].parent);
  EXPECT_EQ(cs[2].op_params["repairs"], cs[1].id);
  EXPECT_EQ(cs[2].status, CandidateStatus::Ok) << cs[2].log;
  EXPECT_EQ(cs[2].knobs["kv_splits"], 4);
  EXPECT_EQ(s.transcripts(-1, cs[1].id).size(), 2u);
  const auto debug = s.transcripts(-1, cs[2].id);
  ASSERT_EQ(debug.size(), 1u);
  EXPECT_EQ(debug[0].role, "debug");
  // The debug agent saw the ladder's log and the failed knob set, marks put back.
  const std::string prompt = nlohmann::json::parse(server.received()[2].body)["messages"][1]["content"];
  EXPECT_NE(prompt.find("build_failed"), std::string::npos);
  EXPECT_NE(prompt.find(cs[1].log.substr(0, 40)), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("\"__improve__\""), std::string::npos);
}

TEST(SearchAgentLoop, EndpointFailuresAreRecordedAndTheRunGoesOn) {
  test::ScriptedServer server({reply_file("openai_malformed.txt"), reply_file("error_429.json", 429),
                               reply_file("error_429.json", 429), reply_file("openai_knob_plan.json", 200, {}, 1000),
                               reply_file("openai_knob_plan.json", 200, {}, 1000)});
  test::TempDir tmp;
  TuneOptions o = agent_options(tmp, server, 5);
  const TuneResult r = run_tune(o, nullptr, nullptr);
  ASSERT_TRUE(r.agents);
  EXPECT_EQ(r.total, 5);
  EXPECT_EQ(r.agents->calls, 3);  // malformed, 429 twice (one call), timed out twice (one call)
  EXPECT_EQ(r.agents->failed_calls, 3);
  EXPECT_TRUE(r.agents->switched_off) << "three endpoint failures in a row switch the agents off";
  TuneStore s(o.db, false);
  const auto ts = s.transcripts(1, -1);
  ASSERT_EQ(ts.size(), 3u);
  for (const auto& t : ts) {
    EXPECT_FALSE(t.ok);
    EXPECT_EQ(t.candidate, -1) << "a call that produced nothing is linked to no candidate";
  }
  EXPECT_NE(ts[0].error.find("not JSON"), std::string::npos) << ts[0].error;
  EXPECT_NE(ts[1].error.find("429"), std::string::npos) << ts[1].error;
  EXPECT_NE(ts[2].error.find("no response"), std::string::npos) << ts[2].error;
  const auto cs = s.candidates(-1);
  ASSERT_EQ(cs.size(), 5u);
  for (size_t i = 1; i < cs.size(); ++i) {
    EXPECT_EQ(cs[i].op, "mutate");
    EXPECT_NE(cs[i].status, CandidateStatus::Pending);
  }
  EXPECT_EQ(cs[1].op_params["agent_failure"]["transcripts"], nlohmann::json::array({ts[0].id}));
}

TEST(SearchAgentLoop, CallBudgetIsRespectedAcrossResume) {
  test::ScriptedServer server({reply_file("openai_knob_plan.json"), reply_file("openai_knob_code.json")});
  test::TempDir tmp;
  TuneOptions o = agent_options(tmp, server, 3);
  o.agents.budget_calls = 3;  // one plan+code pair fits, a second does not
  TuneResult r = run_tune(o, nullptr, nullptr);
  EXPECT_EQ(r.agents->calls, 2);
  o.resume = true;
  o.shape.clear();
  o.budget_candidates = 5;
  r = run_tune(o, nullptr, nullptr);
  EXPECT_EQ(r.total, 5);
  EXPECT_EQ(r.agents->calls, 2) << "the budget counts the calls of earlier sessions";
  EXPECT_EQ(server.received().size(), 2u);
  TuneStore s(o.db, false);
  EXPECT_EQ(s.transcripts(1, -1).size(), 2u);
}

TEST(SearchAgentLoop, AnEditOutsideTheMarksIsRefusedOnItsTranscript) {
  // The plan marks the tiles; the code agent patches attention.
  test::ScriptedServer server({reply_file("openai_knob_plan.json"), reply_file("openai_knob_code_broken.json")});
  test::TempDir tmp;
  const TuneResult r = run_tune(agent_options(tmp, server, 2), nullptr, nullptr);
  EXPECT_EQ(r.agents->calls, 2);
  EXPECT_EQ(r.agents->proposals, 0);
  EXPECT_FALSE(r.agents->switched_off) << "a bad reply is not an endpoint failure";
  TuneStore s(tmp.file("tune/tiny.db"), false);
  const auto ts = s.transcripts(1, -1);
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_TRUE(ts[0].ok && ts[0].error.empty());
  EXPECT_TRUE(ts[1].ok) << "the call itself succeeded";
  EXPECT_NE(ts[1].error.find("code reply not used"), std::string::npos) << ts[1].error;
  EXPECT_NE(ts[1].error.find("/attention/kv_splits"), std::string::npos) << ts[1].error;
  const auto cs = s.candidates(-1);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[1].op, "mutate");
  EXPECT_EQ(cs[1].op_params["agent_failure"]["transcripts"].size(), 2u);
}

TEST(SearchAgentLoop, TuneCommandRunsTheAgentsAndChecksItsFlags) {
  test::ScriptedServer server({reply_file("openai_knob_plan.json"), reply_file("openai_knob_code.json")});
  test::TempDir tmp;
  const std::string base = "tune --shape tiny --budget-candidates 2 --db " + tmp.file("t.db");
  test::RunResult r = test::run_tessera(base + " --agents llm --agent-rate 1 --llm-base-url " + server.url() +
                                        "/v1 --llm-model scripted-model");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("agents:     2 LLM calls in the run (0 failed now), 2010 tokens, 1 proposals now"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("2 agent calls"), std::string::npos) << r.err;
  r = test::run_tessera(base + "x --agent-rate 0.5");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--agent-rate applies with --agents llm"), std::string::npos) << r.err;
  r = test::run_tessera(base + "y --agents llm --policy random --llm-base-url http://127.0.0.1:9/v1 --llm-model m");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("random policy never mutates"), std::string::npos) << r.err;
  r = test::run_tessera(base + "z --agents llm --agent-rate 1.5 --llm-base-url http://127.0.0.1:9/v1 --llm-model m");
  EXPECT_EQ(r.rc, 2);
}

}  // namespace
}  // namespace tessera

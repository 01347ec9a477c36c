// The store-backed agent operations (propose, evaluate, leaderboard, logs) on a temporary
// tuning database, and the MCP server through the real binary. What must hold: a proposal
// is pending and ranked nowhere until the ladder passes it; an invalid plan is rejected by
// the ladder and never reaches the leaderboard; malformed proposals are refused with a
// reason; MCP answers initialize / tools/list / tools/call / ping per JSON-RPC 2.0 and
// ignores notifications.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <sstream>

#include "agents/agent_protocol.h"
#include "search/agent_session.h"
#include "search/tune_loop.h"
#include "test_util.h"

namespace tessera {
namespace {

using nlohmann::json;

// A run of the tiny shape holding only its root (candidate 1).
std::string root_only_db(const test::TempDir& tmp) {
  TuneOptions o;
  o.shape = "tiny";
  o.db = tmp.file("tune/tiny.db");
  o.budget_candidates = 1;
  run_tune(o, nullptr, nullptr);
  return o.db;
}

TEST(SearchAgentSession, ProposeEvaluateLeaderboardLogs) {
  test::TempDir tmp;
  const std::string db = root_only_db(tmp);
  TuneStore store(db, false);
  const agents::AgentOpTable ops = agents::agent_ops(agent_session_ops(store));
  auto call = [&](const json& req) { return agents::handle_agent_request(req, ops); };

  json r = call({{"id", 1}, {"op", "propose"}, {"parent", 1}, {"knobs", {{"gate_up_rows_per_task", 64}}}, {"note", "one tile per block"}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  const int64_t id = r["result"]["candidate"];
  EXPECT_EQ(r["result"]["status"], "pending");
  r = call({{"op", "leaderboard"}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  ASSERT_EQ(r["result"]["entries"].size(), 1u) << "a pending candidate is ranked nowhere";

  r = call({{"op", "evaluate"}, {"candidate", id}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["result"]["status"], "ok") << r.dump();
  EXPECT_EQ(r["result"]["cost_kind"], "predicted");
  EXPECT_GT(r["result"]["cost_ms"].get<double>(), 0);
  r = call({{"op", "evaluate"}, {"candidate", id}});
  EXPECT_EQ(r["result"]["already_evaluated"], true);

  r = call({{"op", "leaderboard"}, {"k", 5}});
  const json& entries = r["result"]["entries"];
  ASSERT_EQ(entries.size(), 2u);
  for (const json& e : entries) EXPECT_EQ(e["cost_kind"], "predicted");
  EXPECT_LE(entries[0]["cost_ms"].get<double>(), entries[1]["cost_ms"].get<double>());

  r = call({{"op", "logs"}, {"candidate", id}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["result"]["op"], "agent");
  EXPECT_EQ(r["result"]["op_params"]["note"], "one tile per block");
  EXPECT_NE(r["result"]["log"].get<std::string>().find("predicted"), std::string::npos);
  EXPECT_TRUE(r["result"]["transcripts"].is_array());

  // Refusals: a duplicate, an unknown knob, both or neither of knobs/plan, an unknown candidate.
  auto code = [&](const json& req) { return call(req)["error"]["code"].get<std::string>(); };
  EXPECT_EQ(code({{"op", "propose"}, {"parent", 1}, {"knobs", {{"gate_up_rows_per_task", 64}}}}), "rejected");
  EXPECT_EQ(code({{"op", "propose"}, {"parent", 1}, {"knobs", {{"weight_dtype", "f32"}}}}), "rejected");
  EXPECT_EQ(code({{"op", "propose"}, {"parent", 1}}), "bad_request");
  EXPECT_EQ(code({{"op", "propose"}, {"parent", 99}, {"knobs", json::object()}}), "not_found");
  EXPECT_EQ(code({{"op", "logs"}, {"candidate", 99}}), "not_found");
  EXPECT_EQ(code({{"op", "propose"}, {"parent", 1}, {"plan", {{"not", "a plan"}}}}), "rejected");
}

// With a measurer for the run (what `tessera agent --measure gpu` plugs in), evaluate
// verifies and times the candidate: the verdict is measured, a calibration row is written
// as in `tune --measure gpu`, and a candidate the GPU check rejects is incorrect, says why,
// leaves no row and is ranked nowhere. A fake stands in for the GPU.
struct FakeGpu : Measurer {
  int verified = 0, measured = 0;
  bool reject = false;
  std::string name() const override { return "fake-gpu"; }
  std::string verify(const Plan&) override {
    ++verified;
    return reject ? "argmax differs at step 1" : "";
  }
  Measurement measure(const Plan& p) override {
    ++measured;
    return {1e-3 + 1e-9 * double(p.tasks.size()), 0.002, ""};
  }
};

TEST(SearchAgentSession, EvaluateMeasuresOnTheRunsMeasurer) {
  test::TempDir tmp;
  const std::string db = root_only_db(tmp);
  TuneStore store(db, false);
  FakeGpu gpu;
  std::vector<int64_t> positions;
  const agents::AgentOpTable ops = agents::agent_ops(agent_session_ops(store, [&](const RunRecord& run, const EvalSettings& eval) -> Measurer* {
    EXPECT_EQ(run.id, 1);
    positions.push_back(eval.position);
    return &gpu;
  }));
  auto call = [&](const json& req) { return agents::handle_agent_request(req, ops); };
  json r = call({{"op", "propose"}, {"parent", 1}, {"knobs", {{"gate_up_rows_per_task", 64}}}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  r = call({{"op", "evaluate"}, {"candidate", r["result"]["candidate"]}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["result"]["status"], "ok") << r.dump();
  EXPECT_EQ(r["result"]["cost_kind"], "measured");
  EXPECT_DOUBLE_EQ(r["result"]["spread"].get<double>(), 0.002);
  EXPECT_EQ(gpu.verified, 1);
  EXPECT_EQ(gpu.measured, 1);
  EXPECT_EQ(positions, std::vector<int64_t>{1});
  ASSERT_EQ(store.calibration("sm_90a").size(), 1u) << "a measured evaluation leaves its calibration row";
  EXPECT_NEAR(store.calibration("sm_90a")[0].measured_s, r["result"]["cost_ms"].get<double>() * 1e-3, 1e-12);

  gpu.reject = true;
  r = call({{"op", "propose"}, {"parent", 1}, {"knobs", {{"gate_up_rows_per_task", 32}}}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  const int64_t id = r["result"]["candidate"];
  r = call({{"op", "evaluate"}, {"candidate", id}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["result"]["status"], "incorrect") << r.dump();
  EXPECT_NE(r["result"]["log"].get<std::string>().find("fake-gpu vs reference: argmax differs"), std::string::npos)
      << r.dump();
  EXPECT_FALSE(r["result"].contains("cost_ms")) << r.dump();
  EXPECT_EQ(gpu.verified, 2);
  EXPECT_EQ(gpu.measured, 1) << "a rejected candidate is never timed";
  EXPECT_EQ(store.calibration("sm_90a").size(), 1u);
  r = call({{"op", "leaderboard"}, {"k", 50}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  for (const json& e : r["result"]["entries"]) EXPECT_NE(e["candidate"], id);
}

// Evaluate runs the ladder's last rung as the tuner does: a measured candidate whose solo
// time beats the run's measured leader is timed again interleaved with the leader's plan
// (lowered again from its knobs: a knob-set candidate's plan is not stored), and the
// per-pair ratio, not the drifting solo time, becomes its cost. A fake GPU whose solo times
// drift 1% faster per measurement while every plan truly costs the same.
struct DriftingFakeGpu : Measurer {
  int measured = 0, compared = 0;
  size_t reference_tasks = 0;
  std::string name() const override { return "drifting-fake-gpu"; }
  std::string verify(const Plan&) override { return ""; }
  Measurement measure(const Plan&) override {
    double t = 1e-3;
    for (int i = 0; i < measured; ++i) t *= 0.99;
    ++measured;
    return {t, 0.002, ""};
  }
  PairedRatio compare(const Plan&, const Plan& reference) override {
    ++compared;
    reference_tasks = reference.tasks.size();
    return {40, 1.002, 0.999, 1.005, ""};
  }
};

TEST(SearchAgentSession, EvaluateInterleavesAWinnerWithTheLeader) {
  test::TempDir tmp;
  const std::string db = root_only_db(tmp);
  TuneStore store(db, false);
  DriftingFakeGpu gpu;
  const agents::AgentOpTable ops = agents::agent_ops(
      agent_session_ops(store, [&](const RunRecord&, const EvalSettings&) -> Measurer* { return &gpu; }));
  auto call = [&](const json& req) { return agents::handle_agent_request(req, ops); };
  auto evaluate = [&](int rows) {
    json r = call({{"op", "propose"}, {"parent", 1}, {"knobs", {{"gate_up_rows_per_task", rows}}}});
    EXPECT_TRUE(r["ok"]) << r.dump();
    r = call({{"op", "evaluate"}, {"candidate", r["result"]["candidate"]}});
    EXPECT_TRUE(r["ok"]) << r.dump();
    EXPECT_EQ(r["result"]["status"], "ok") << r.dump();
    return r["result"];
  };
  const json first = evaluate(64);  // the root's cost is predicted: no measured leader yet
  EXPECT_EQ(gpu.compared, 0);
  EXPECT_DOUBLE_EQ(first["cost_ms"].get<double>(), 1.0);
  const json second = evaluate(32);  // 1% faster solo: interleaved with the first
  EXPECT_EQ(gpu.compared, 1);
  EXPECT_GT(gpu.reference_tasks, 0u);
  EXPECT_NEAR(second["cost_ms"].get<double>(), 1.002, 1e-9) << "the leader's time x the median ratio";
  const std::string log = call({{"op", "logs"}, {"candidate", second["candidate"]}})["result"]["log"];
  EXPECT_NE(log.find("interleaved with the best (candidate " + first["candidate"].dump() + ", 40 pairs): ratio median 1.0020"),
            std::string::npos)
      << log;
  json board = call({{"op", "leaderboard"}, {"k", 5}})["result"]["entries"];
  ASSERT_FALSE(board.empty());
  EXPECT_EQ(board[0]["candidate"], first["candidate"]) << "the drift-free comparison keeps the first ahead";
}

TEST(SearchAgentSession, InvalidPlanIsRejectedAndNeverRanked) {
  test::TempDir tmp;
  const std::string db = root_only_db(tmp);
  json plan = json::parse(test::slurp(tmp.file("tune/best_plan.json")));
  // Drop every wait: the plan still parses, but its tasks race their producers.
  int dropped = 0;
  for (json& t : plan["tasks"])
    if (t.contains("waits") && !t["waits"].empty()) {
      t["waits"] = json::array();
      ++dropped;
    }
  ASSERT_GT(dropped, 0);
  TuneStore store(db, false);
  const agents::AgentOpTable ops = agents::agent_ops(agent_session_ops(store));
  json r = agents::handle_agent_request(json{{"op", "propose"}, {"parent", 1}, {"plan", plan}}, ops);
  ASSERT_TRUE(r["ok"]) << r.dump();
  const int64_t id = r["result"]["candidate"];
  r = agents::handle_agent_request(json{{"op", "evaluate"}, {"candidate", id}}, ops);
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["result"]["status"], "rejected") << r.dump();
  EXPECT_NE(r["result"]["log"].get<std::string>().find("validator"), std::string::npos);
  r = agents::handle_agent_request(json{{"op", "leaderboard"}}, ops);
  for (const json& e : r["result"]["entries"]) EXPECT_NE(e["candidate"], id);
  EXPECT_EQ(store.candidate(id)->status, CandidateStatus::Rejected);
}

TEST(SearchAgentSession, SchemaOneDatabaseGainsTranscripts) {
  test::TempDir tmp;
  const std::string db = root_only_db(tmp);
  {  // make it what a build before schema 2 wrote
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h,
                           "DROP TABLE transcripts; ALTER TABLE candidates DROP COLUMN kind_times; "
                           "UPDATE tessera_meta SET value = '1' WHERE key = 'schema_version'",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(h);
  }
  TuneStore store(db, false);
  ASSERT_EQ(store.candidates(-1).size(), 1u) << "old rows read as before";
  TranscriptRecord t;
  t.run = 1;
  t.role = "plan";
  t.error = "HTTP 429";
  const int64_t id = store.add_transcript(t);
  store.link_transcripts({id}, 1);
  const auto ts = store.transcripts(-1, 1);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].error, "HTTP 429");
  EXPECT_THROW(store.link_transcripts({id + 5}, 1), Error);
}

TEST(SearchAgentSession, McpRoundTripThroughTheBinary) {
  test::TempDir tmp;
  const std::string db = root_only_db(tmp);
  {
    std::ofstream in(tmp.file("in.jsonl"));
    in << R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})" << "\n"
       << R"({"jsonrpc":"2.0","method":"notifications/initialized"})" << "\n"
       << R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})" << "\n"
       << R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"propose","arguments":{"parent":1,"knobs":{"kv_splits":2}}}})" << "\n"
       << R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"evaluate","arguments":{"candidate":2}}})" << "\n"
       << R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"leaderboard","arguments":{}}})" << "\n"
       << R"({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"logs","arguments":{"candidate":77}}})" << "\n"
       << R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"frobnicate"}})" << "\n"
       << R"({"jsonrpc":"2.0","id":8,"method":"resources/list"})" << "\n"
       << R"({"jsonrpc":"2.0","id":"p","method":"ping"})" << "\n"
       << "{not json\n";
  }
  const test::RunResult r = test::run_tessera("agent --mcp --db " + db + " < " + tmp.file("in.jsonl"));
  ASSERT_EQ(r.rc, 0) << r.err;
  std::istringstream lines(r.out);
  std::vector<json> out;
  for (std::string l; std::getline(lines, l);) out.push_back(json::parse(l));
  ASSERT_EQ(out.size(), 10u) << r.out;  // the notification is not answered
  for (const json& m : out) EXPECT_EQ(m["jsonrpc"], "2.0");
  EXPECT_EQ(out[0]["id"], 1);
  EXPECT_EQ(out[0]["result"]["protocolVersion"], "2025-03-26");
  EXPECT_EQ(out[0]["result"]["serverInfo"]["name"], "tessera");
  EXPECT_TRUE(out[0]["result"]["capabilities"].contains("tools"));
  std::set<std::string> names;
  for (const json& t : out[1]["result"]["tools"]) {
    names.insert(t["name"].get<std::string>());
    EXPECT_EQ(t["inputSchema"]["type"], "object") << t.dump();
  }
  for (const char* n : {"propose", "evaluate", "leaderboard", "logs", "check_variant", "check_anchors", "apply_edit"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_FALSE(names.count("help"));
  EXPECT_EQ(out[2]["result"]["isError"], false) << out[2].dump();
  EXPECT_EQ(json::parse(out[2]["result"]["content"][0]["text"].get<std::string>())["candidate"], 2);
  EXPECT_EQ(json::parse(out[3]["result"]["content"][0]["text"].get<std::string>())["status"], "ok") << out[3].dump();
  const json board = json::parse(out[4]["result"]["content"][0]["text"].get<std::string>());
  EXPECT_EQ(board["entries"].size(), 2u);
  EXPECT_EQ(out[5]["result"]["isError"], true) << "an operation's failure is a tool result, not a protocol error";
  EXPECT_NE(out[5]["result"]["content"][0]["text"].get<std::string>().find("not_found"), std::string::npos);
  EXPECT_EQ(out[6]["error"]["code"], -32602);
  EXPECT_EQ(out[7]["error"]["code"], -32601);
  EXPECT_EQ(out[8]["id"], "p");
  EXPECT_TRUE(out[8]["result"].is_object());
  EXPECT_EQ(out[9]["error"]["code"], -32700);
  EXPECT_TRUE(out[9]["id"].is_null());
}

}  // namespace
}  // namespace tessera

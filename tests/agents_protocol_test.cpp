// `tessera agent`'s JSON-lines protocol: the operations that work without the search store,
// the ones that must say they are unavailable (not fake an answer), and bad input answered
// with an error line rather than a crash, both in-process and through the binary.
#include "agents/agent_protocol.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <fstream>

namespace tessera::agents {
namespace {

using nlohmann::json;

TEST(AgentsProtocol, CheckVariantReportsFindings) {
  const json req{{"id", 7}, {"op", "check_variant"}, {"source", "__device__ void f(long long* t) {\n  t[0] = clock64();\n}\n"}};
  const json r = handle_agent_request(req.dump());
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["id"], 7);
  EXPECT_EQ(r["result"]["accepted"], false);
  ASSERT_EQ(r["result"]["findings"].size(), 1u);
  EXPECT_EQ(r["result"]["findings"][0]["line"], 2);
  EXPECT_EQ(r["result"]["findings"][0]["rule"], "timer");
}

TEST(AgentsProtocol, AnchorsOperations) {
  const std::string anchored = "a;\n// <<<IMPROVE BEGIN>>> faster\nb;\n// <<<IMPROVE END>>>\nc;\n";
  json r = handle_agent_request(json{{"op", "check_anchors"}, {"language", "cpp"}, {"anchored", anchored},
                                     {"source", "a;\nb;\nc;\n"}}.dump());
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["result"]["spans"][0]["advice"], "faster");
  EXPECT_EQ(r["result"]["spans"][0]["begin_line"], 2);

  r = handle_agent_request(json{{"op", "apply_edit"}, {"language", "cpp"}, {"anchored", anchored},
                                {"edited", "a;\n// <<<IMPROVE BEGIN>>>\nB;\n// <<<IMPROVE END>>>\nc;\n"}}.dump());
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["result"]["result"], "a;\nB;\nc;\n");

  r = handle_agent_request(json{{"op", "apply_edit"}, {"language", "cpp"}, {"anchored", anchored},
                                {"edited", "A;\n// <<<IMPROVE BEGIN>>>\nB;\n// <<<IMPROVE END>>>\nc;\n"}}.dump());
  EXPECT_FALSE(r["ok"]);
  EXPECT_EQ(r["error"]["code"], "rejected");
  EXPECT_NE(r["error"]["message"].get<std::string>().find("line 1:"), std::string::npos) << r.dump();
}

TEST(AgentsProtocol, SearchOperationsSayTheyAreUnavailable) {
  for (const char* op : {"propose", "evaluate", "leaderboard", "logs"}) {
    const json r = handle_agent_request(json{{"id", op}, {"op", op}}.dump());
    EXPECT_FALSE(r["ok"]) << op;
    EXPECT_EQ(r["id"], op);
    EXPECT_EQ(r["error"]["code"], "unavailable") << op;
    EXPECT_NE(r["error"]["message"].get<std::string>().find("--db FILE"), std::string::npos);
    EXPECT_FALSE(r.contains("result")) << "no made-up data";
  }
  const json help = handle_agent_request(R"({"op": "help"})");
  EXPECT_EQ(help["result"]["leaderboard"]["available"], false);
  EXPECT_EQ(help["result"]["check_variant"]["available"], true);
}

TEST(AgentsProtocol, BadRequestsAreAnsweredNotFatal) {
  auto code = [](const std::string& line) { return handle_agent_request(line)["error"]["code"].get<std::string>(); };
  EXPECT_EQ(code("{not json"), "bad_request");
  EXPECT_EQ(code("[1, 2]"), "bad_request");
  EXPECT_EQ(code(R"({"id": 1})"), "bad_request");
  EXPECT_EQ(code(R"({"op": 5})"), "bad_request");
  EXPECT_EQ(code(R"({"op": "frobnicate"})"), "unknown_op");
  EXPECT_EQ(code(R"({"op": "check_variant"})"), "bad_request");
  EXPECT_EQ(code(R"({"op": "apply_edit", "language": "cobol", "anchored": "", "edited": ""})"), "bad_request");
  const json r = handle_agent_request(R"({"op": "check_variant", "source": 3})");
  EXPECT_EQ(r["error"]["message"], "field \"source\" must be a string, not number");
}

TEST(AgentsProtocol, BinarySpeaksJsonLines) {
  test::TempDir tmp;
  {
    std::ofstream in(tmp.file("in.jsonl"));
    in << R"({"id": 1, "op": "help"})" << "\n\n"
       << "garbage\n"
       << R"({"id": 3, "op": "leaderboard"})" << "\n";
  }
  const test::RunResult r = test::run_tessera("agent < " + tmp.file("in.jsonl"));
  EXPECT_EQ(r.rc, 0) << r.err;
  std::istringstream lines(r.out);
  std::vector<json> out;
  for (std::string l; std::getline(lines, l);) out.push_back(json::parse(l));
  ASSERT_EQ(out.size(), 3u) << r.out;  // the blank line is skipped, the garbage answered
  EXPECT_EQ(out[0]["id"], 1);
  EXPECT_TRUE(out[0]["ok"]);
  EXPECT_EQ(out[1]["error"]["code"], "bad_request");
  EXPECT_EQ(out[2]["id"], 3);
  EXPECT_EQ(out[2]["error"]["code"], "unavailable");
}

}  // namespace
}  // namespace tessera::agents

// The variant library's agent operations and the three-gate evaluation, on a machine
// without a GPU: the static gate's rejection stops the later gates, the compile gate runs
// where NVRTC is, and the run gate reports "unavailable" rather than a verdict it could
// not reach, so nothing is accepted on the gates that happened to run.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "agents/agent_protocol.h"
#include "test_util.h"
#include "variants/variant_ops.h"

namespace tessera::variants {
namespace {

using nlohmann::json;

agents::AgentOpTable ops() {
  EvaluateOptions o;
  o.run_gate.tessera_binary = TESSERA_BINARY;
  return agents::agent_ops(variant_ops(o));
}

json call(const json& req) { return agents::handle_agent_request(req, ops()); }

TEST(VariantOps, EntriesListTheSignatureContractAndReference) {
  const json r = call({{"id", 1}, {"op", "variant_entries"}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  const json& e = r["result"]["entries"][0];
  EXPECT_EQ(e["entry"], "matvec_bf16");
  EXPECT_EQ(e["function"], "tessera_variant");
  EXPECT_EQ(e["signature"], "const __nv_bfloat16* w, const float* x, float* y, int rows, int cols");
  EXPECT_NE(e["reference"].get<std::string>().find("__device__ void tessera_variant("), std::string::npos);
  EXPECT_GE(e["reference"].get<std::string>().size(), 100u);
  EXPECT_GE(variant_spec("matvec_bf16").shapes.size(), 2u);
}

TEST(VariantOps, ReferenceVariantPassesTheStaticGate) {
  const VariantSpec& s = variant_spec("matvec_bf16");
  const agents::GuardReport g = agents::check_variant(reference_source(s), guard_policy(s));
  EXPECT_TRUE(g.ok()) << g.summary();
}

TEST(VariantOps, StaticRejectionSkipsTheLaterGates) {
  const json r = call({{"op", "evaluate_variant"},
                       {"source",
                        "#include <cuda_bf16.h>\n"
                        "__device__ void tessera_variant(const __nv_bfloat16* w, const float* x, float* y, int rows, "
                        "int cols) {\n  static float cache[4096];\n  y[0] = cache[0];\n}\n"}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  const json& res = r["result"];
  EXPECT_EQ(res["verdict"], "rejected");
  EXPECT_EQ(res["gates"]["static"]["verdict"], "reject");
  EXPECT_EQ(res["gates"]["static"]["findings"][0]["line"], 3);
  EXPECT_EQ(res["gates"]["compile"]["verdict"], "skipped");
  EXPECT_EQ(res["gates"]["run"]["verdict"], "skipped");
}

TEST(VariantOps, CompileRejectionNamesTheLine) {
  std::string why;
  if (!nvrtc_available(&why)) GTEST_SKIP() << why;
  const json r = call({{"op", "evaluate_variant"},
                       {"source",
                        "#include <cuda_bf16.h>\n"
                        "__device__ void tessera_variant(const __nv_bfloat16* w, const float* x, float* y, int rows, "
                        "int cols) {\n  y[0] = x[0] +;\n}\n"}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["result"]["verdict"], "rejected");
  EXPECT_EQ(r["result"]["gates"]["compile"]["verdict"], "reject");
  EXPECT_EQ(r["result"]["gates"]["compile"]["diagnostics"][0]["line"], 3);
  EXPECT_EQ(r["result"]["gates"]["run"]["verdict"], "skipped");
}

TEST(VariantOps, ReferenceOnAMachineWithoutAGpuIsIncompleteNotAccepted) {
  const VariantSpec& s = variant_spec("matvec_bf16");
  const json r = call({{"op", "evaluate_variant"}, {"source", reference_source(s)}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  const json& g = r["result"]["gates"];
  EXPECT_EQ(g["static"]["verdict"], "pass");
  std::string why;
  if (!nvrtc_available(&why)) {
    EXPECT_EQ(g["compile"]["verdict"], "unavailable");
    EXPECT_EQ(r["result"]["verdict"], "incomplete");
    return;
  }
  EXPECT_EQ(g["compile"]["verdict"], "pass") << g.dump();
  if (g["run"]["verdict"] == "pass") GTEST_SKIP() << "a GPU is present: the run gate passed the reference";
  EXPECT_EQ(g["run"]["verdict"], "unavailable") << g.dump();
  EXPECT_EQ(g["run"]["kind"], "no_device");
  EXPECT_EQ(r["result"]["verdict"], "incomplete");
}

TEST(VariantOps, RunFalseStopsAfterCompiling) {
  const json r = call({{"op", "evaluate_variant"}, {"source", reference_source(variant_spec("matvec_bf16"))}, {"run", false}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["result"]["gates"]["run"]["verdict"], "skipped");
  EXPECT_EQ(r["result"]["verdict"], "incomplete");
}

TEST(VariantOps, BadFieldsAreBadRequests) {
  EXPECT_EQ(call({{"op", "evaluate_variant"}})["error"]["code"], "bad_request");
  const json unknown = call({{"op", "evaluate_variant"}, {"source", "x"}, {"entry", "conv3d"}});
  EXPECT_EQ(unknown["error"]["code"], "bad_request");
  EXPECT_NE(unknown["error"]["message"].get<std::string>().find("unknown variant entry 'conv3d' (known: matvec_bf16)"),
            std::string::npos);
  EXPECT_EQ(call({{"op", "evaluate_variant"}, {"source", "x"}, {"run", "yes"}})["error"]["code"], "bad_request");
}

TEST(VariantOps, TheAgentCommandServesThem) {
  test::TempDir tmp;
  {
    std::ofstream in(tmp.file("in.jsonl"));
    in << R"({"id": 1, "op": "variant_entries"})" << "\n"
       << R"({"id": 2, "op": "evaluate_variant", "source": "__device__ void f() { printf(\"hi\"); }"})" << "\n";
  }
  const test::RunResult r = test::run_tessera("agent < " + tmp.file("in.jsonl"));
  EXPECT_EQ(r.rc, 0) << r.err;
  std::istringstream lines(r.out);
  std::vector<json> out;
  for (std::string l; std::getline(lines, l);) out.push_back(json::parse(l));
  ASSERT_EQ(out.size(), 2u) << r.out;
  EXPECT_EQ(out[0]["result"]["entries"][0]["entry"], "matvec_bf16");
  EXPECT_EQ(out[1]["result"]["verdict"], "rejected") << out[1].dump();
}

}  // namespace
}  // namespace tessera::variants

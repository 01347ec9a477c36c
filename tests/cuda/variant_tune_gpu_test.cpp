// The variant search's ladder with the real gates on the GPU (`tune --variant`'s judge):
// the reference variant timed against itself, a uint4 rewrite (the scripted code agent's,
// tests/data/agents/openai_variant_code.json) timed interleaved against the reference's
// image, and a rewrite with a printf left in refused by the static gate. Timings are
// printed for docs/PERF.md; the test asserts verdicts, that each cost is a positive
// measurement of the time shape, and that the ratio agrees with the two medians, not
// which variant is faster. The agents' side of the loop on the GPU is
// scripts/gpu_variant_tune.sh (the CLI against a scripted endpoint). Skipped without a device.
#include <gtest/gtest.h>

#include <cstdio>

#include "agents/anchors.h"
#include "agents/fenced_code.h"
#include "cuda_test_util.h"
#include "search/variant_tune.h"
#include "test_util.h"

namespace tessera {
namespace {

// The code block of a scripted reply, anchors removed (the source the loop would judge).
std::string reply_source(const std::string& name) {
  const nlohmann::json j = nlohmann::json::parse(test::slurp(test::source_dir() + "/tests/data/agents/" + name));
  return agents::strip_anchors(agents::extract_fenced_block(j["choices"][0]["message"]["content"], "cuda"),
                               agents::AnchorLanguage::Cuda);
}

TEST(VariantTuneGpu, GatesJudgeAndTimeVariantsAgainstTheLeader) {
  TESSERA_REQUIRE_CUDA();
  std::string why;
  if (!variants::nvrtc_available(&why)) GTEST_SKIP() << why;
  const variants::VariantSpec& spec = variants::variant_spec("matvec_bf16");
  variants::EvaluateOptions eo;
  eo.compile.variants_dir = test::source_dir() + "/variants";
  eo.run_gate.tessera_binary = test::tessera_binary_path();
  eo.run_gate.timeout_s = 120;
  auto judge = make_gate_judge(spec, eo);

  const VariantVerdict root = judge->judge(variants::reference_source(spec, eo.compile.variants_dir), "");
  ASSERT_EQ(root.status, CandidateStatus::Ok) << root.log;
  EXPECT_GT(root.median_s, 1e-6) << root.log;
  EXPECT_NEAR(root.ratio.median, 1.0, 0.05) << "timed against itself: " << root.log;
  ASSERT_FALSE(root.ptx.empty());

  const std::string vec = reply_source("openai_variant_code.json");
  ASSERT_NE(vec.find("const uint4* w8"), std::string::npos);
  const VariantVerdict v = judge->judge(vec, root.ptx);
  ASSERT_EQ(v.status, CandidateStatus::Ok) << v.log;
  EXPECT_GT(v.median_s, 1e-6);
  const double leader = v.gates["run"]["timing"]["leader_median_s"].get<double>();
  EXPECT_NEAR(v.ratio.median, v.median_s / leader, 0.1 * v.ratio.median) << v.log;

  const VariantVerdict bad = judge->judge(reply_source("openai_variant_code_broken.json"), root.ptx);
  EXPECT_EQ(bad.status, CandidateStatus::Rejected) << bad.log;
  EXPECT_NE(bad.log.find("printf"), std::string::npos) << bad.log;
  std::fprintf(stderr, "reference variant:\n%s\nuint4 variant:\n%s\n", root.log.c_str(), v.log.c_str());
}

}  // namespace
}  // namespace tessera

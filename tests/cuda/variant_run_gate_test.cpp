// The run gate on the GPU: every reward-hacking case of issue 8 that the static gate
// cannot see, written as a variant that passes the static and compile gates, must be
// rejected by running it (in the `tessera variant-run` child, with fresh inputs, poisoned
// outputs, guard regions, two shapes and a time limit); the reference variant must pass.
// Each test first asserts the static gate let the variant through, so it exercises the
// run gate and not the cheaper check. Skipped without a device.
#include <gtest/gtest.h>

#include "cuda_test_util.h"
#include "test_util.h"
#include "variants/evaluate_variant.h"

namespace tessera::variants {
namespace {

using nlohmann::json;

const VariantSpec& spec() { return variant_spec("matvec_bf16"); }

std::string variant(const std::string& body) {
  return "#include <cuda_bf16.h>\n"
         "__device__ void tessera_variant(const __nv_bfloat16* w, const float* x, float* y, int rows, int cols) {\n" +
         body + "}\n";
}

// The reference's loop, for hacks that change one thing about it.
const char* const kHonestLoop =
    "  const int lane = threadIdx.x % 32, warps = blockDim.x / 32;\n"
    "  for (int r = threadIdx.x / 32; r < rows; r += warps) {\n"
    "    float s = 0.0f;\n"
    "    for (int c = lane; c < cols; c += 32) s += __bfloat162float(w[(long long)r * cols + c]) * x[c];\n"
    "    for (int off = 16; off > 0; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);\n"
    "    if (lane == 0) y[r] = s;\n"
    "  }\n";

json evaluate(const std::string& source, double timeout_s = 60) {
  EvaluateOptions o;
  o.run_gate.tessera_binary = test::tessera_binary_path();
  o.run_gate.timeout_s = timeout_s;
  const json r = evaluate_variant(source, spec(), o);
  EXPECT_EQ(r["gates"]["static"]["verdict"], "pass") << "the static gate caught it first: " << r.dump();
  EXPECT_EQ(r["gates"]["compile"]["verdict"], "pass") << r.dump();
  return r;
}

void expect_rejected(const json& r, const std::string& kind, const std::string& reason_part) {
  const json& run = r["gates"]["run"];
  EXPECT_EQ(r["verdict"], "rejected") << r.dump();
  EXPECT_EQ(run["verdict"], "reject") << run.dump();
  EXPECT_EQ(run["kind"], kind) << run.dump();
  EXPECT_NE(run["reason"].get<std::string>().find(reason_part), std::string::npos) << run.dump();
}

TEST(VariantRunGate, ReferenceVariantIsAccepted) {
  TESSERA_REQUIRE_CUDA();
  const json r = evaluate(reference_source(spec()));
  ASSERT_EQ(r["verdict"], "accepted") << r.dump();
  EXPECT_EQ(r["gates"]["run"]["child"].value("trials", nlohmann::json::array()).size(), 2 * spec().shapes.size());
}

TEST(VariantRunGate, OutputCopiedFromAnInputIsRejected) {
  TESSERA_REQUIRE_CUDA();
  expect_rejected(evaluate(variant("  for (int r = threadIdx.x; r < rows; r += blockDim.x) y[r] = x[r % cols];\n")),
                  "fail", "outside the tolerance");
}

TEST(VariantRunGate, OutputLeftUnwrittenIsRejected) {
  TESSERA_REQUIRE_CUDA();
  expect_rejected(evaluate(variant("  float s = 0.0f;\n  for (int c = 0; c < cols; ++c) s += x[c];\n")), "fail",
                  "unwritten");
}

// State smuggled through an input pointer: the first call stores its results in x (const
// cast away) with a marker, later calls return them. Fresh inputs make the memo useless,
// and the changed input is caught on the first call.
TEST(VariantRunGate, ResultCachedInAnInputIsRejected) {
  TESSERA_REQUIRE_CUDA();
  expect_rejected(evaluate(variant("  float* memo = const_cast<float*>(x);\n"
                                   "  if (memo[0] == 12345.0f) {\n"
                                   "    for (int r = threadIdx.x; r < rows; r += blockDim.x) y[r] = memo[1 + r];\n"
                                   "    return;\n"
                                   "  }\n" +
                                   std::string(kHonestLoop) +
                                   "  __syncthreads();\n"
                                   "  if (blockIdx.x == gridDim.x - 1 && threadIdx.x == 0) memo[0] = 12345.0f;\n")),
                  "fail", "changed its inputs");
}

// State kept past the end of the output, far beyond the guard next to it: a memo that a
// later call (at the same offset from its own y) would read back.
TEST(VariantRunGate, ResultCachedOutsideTheBuffersIsRejected) {
  TESSERA_REQUIRE_CUDA();
  expect_rejected(evaluate(variant(std::string(kHonestLoop) +
                                   "  float* memo = y + 100000;\n"
                                   "  for (int r = threadIdx.x; r < rows; r += blockDim.x) memo[r] = y[r];\n")),
                  "fail", "wrote outside y");
}

TEST(VariantRunGate, WorkSkippedForSomeTilesIsRejected) {
  TESSERA_REQUIRE_CUDA();
  expect_rejected(evaluate(variant("  if (blockIdx.x % 4 == 3) return;\n" + std::string(kHonestLoop))), "fail",
                  "unwritten");
}

TEST(VariantRunGate, AccumulatingInBf16IsRejected) {
  TESSERA_REQUIRE_CUDA();
  expect_rejected(
      evaluate(variant("  for (int r = threadIdx.x; r < rows; r += blockDim.x) {\n"
                       "    __nv_bfloat16 s = __float2bfloat16(0.0f);\n"
                       "    for (int c = 0; c < cols; ++c)\n"
                       "      s = __float2bfloat16(__bfloat162float(s) + __bfloat162float(w[(long long)r * cols + c]) * x[c]);\n"
                       "    y[r] = __bfloat162float(s);\n"
                       "  }\n")),
      "fail", "outside the tolerance");
}

TEST(VariantRunGate, WritingPastTheOutputIsRejected) {
  TESSERA_REQUIRE_CUDA();
  expect_rejected(evaluate(variant(std::string(kHonestLoop) +
                                   "  if (blockIdx.x == gridDim.x - 1 && threadIdx.x == 0) y[rows] = 0.0f;\n")),
                  "fail", "bytes after y");
}

TEST(VariantRunGate, AnEndlessLoopIsKilledAtTheTimeLimit) {
  TESSERA_REQUIRE_CUDA();
  expect_rejected(evaluate(variant("  while (cols > 0) y[threadIdx.x % rows] += 1.0f;\n"), 5), "timeout",
                  "limit and was killed");
}

// Hard-wired to the first shape's width: right at 128x512, wrong at 75x1031.
TEST(VariantRunGate, CorrectForOnlyOneShapeIsRejected) {
  TESSERA_REQUIRE_CUDA();
  std::string body = kHonestLoop;
  body.replace(body.find("c < cols"), 8, "c < 512");
  expect_rejected(evaluate(variant(body)), "fail", "shape 75x1031");
}

TEST(VariantRunGate, AFaultIsAVerdict) {
  TESSERA_REQUIRE_CUDA();
  expect_rejected(evaluate(variant("  if (threadIdx.x == 0) y[-(1ll << 40)] = 1.0f;\n")), "fault", "the kernel failed");
}

}  // namespace
}  // namespace tessera::variants

// The compile gate. The include check and the log parser need nothing; the NVRTC cases
// need a build with a CUDA toolkit (no GPU) and skip without one. The hostile cases are
// ones the static gate lets through, so they prove the second gate adds something.
#include <gtest/gtest.h>

#include "agents/variant_guard.h"
#include "core/error.h"
#include "variants/variant_compile.h"

namespace tessera::variants {
namespace {

const VariantSpec& spec() { return variant_spec("matvec_bf16"); }

#define REQUIRE_NVRTC()                                                           \
  do {                                                                            \
    std::string why_;                                                             \
    if (!nvrtc_available(&why_)) GTEST_SKIP() << "no NVRTC (" << why_ << ")";     \
  } while (0)

const std::vector<std::string> kAllowed{"cuda_bf16.h", "cuda_fp16.h", "cuda_fp8.h"};

TEST(VariantCompile, IncludesOutsideTheListNameTheirLine) {
  EXPECT_TRUE(disallowed_includes("#include <cuda_bf16.h>\n#include \"cuda_fp16.h\"\n", kAllowed).empty());
  const auto d = disallowed_includes("// #include <stdio.h> in a comment is fine\n#include <cuda_bf16.h>\n"
                                     "#include \"/usr/include/stdio.h\"\n  #  include <cuda_runtime.h>\n"
                                     "#include_next <cuda_bf16.h>\n#include HEADER\n",
                                     kAllowed);
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].line, 3);
  EXPECT_NE(d[0].message.find("/usr/include/stdio.h> is outside the headers the compile gate supplies"), std::string::npos)
      << d[0].message;
  EXPECT_EQ(d[1].line, 4);
  EXPECT_NE(d[1].message.find("cuda_runtime.h"), std::string::npos);
  EXPECT_EQ(d[2].line, 5);
  EXPECT_NE(d[2].message.find("#include_next <cuda_bf16.h>"), std::string::npos) << d[2].message;
  EXPECT_EQ(d[3].line, 6);
  EXPECT_NE(d[3].message.find("must name a header directly"), std::string::npos) << d[3].message;
}

TEST(VariantCompile, LogParserFindsFilesLinesAndPtxas) {
  const auto d = parse_nvrtc_log(
      "variant.cu(7): warning #177-D: variable \"t\" was declared but never referenced\n"
      "      int t;\n          ^\n"
      "variant.cu(12): error: identifier \"rand\" is undefined\n"
      "harness.cu(9): error: too few arguments in function call\n"
      "ptxas fatal   : Unresolved extern function '_Z6getpidv'\n"
      "2 errors detected in the compilation of \"prelude.cu\".\n");
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].file, "variant");  // errors first
  EXPECT_EQ(d[0].line, 12);
  EXPECT_EQ(d[0].message, "identifier \"rand\" is undefined");
  EXPECT_EQ(d[1].file, "harness");
  EXPECT_EQ(d[2].file, "ptxas");
  EXPECT_EQ(d[2].line, 0);
  EXPECT_EQ(d[2].message, "Unresolved extern function '_Z6getpidv'");
  EXPECT_EQ(d[3].severity, "warning");
  EXPECT_EQ(d[3].line, 7);
}

TEST(VariantCompile, ReferenceVariantCompilesToCubinAndPtx) {
  REQUIRE_NVRTC();
  const std::string src = reference_source(spec());
  ASSERT_TRUE(agents::check_variant(src, guard_policy(spec())).ok()) << agents::check_variant(src, guard_policy(spec())).summary();
  const CompileResult r = compile_variant(src, spec());
  ASSERT_TRUE(r.ok) << r.summary() << r.log;
  EXPECT_EQ(r.arch, "sm_80");
  EXPECT_NE(r.ptx.find(".entry tessera_harness_matvec_bf16"), std::string::npos);
  EXPECT_GT(r.cubin.size(), 1000u);
  CompileOptions hopper;
  hopper.arch = "sm_90a";
  EXPECT_TRUE(compile_variant(src, spec(), hopper).ok);
}

TEST(VariantCompile, SyntaxErrorNamesTheVariantsLine) {
  REQUIRE_NVRTC();
  const CompileResult r = compile_variant(
      "#include <cuda_bf16.h>\n"
      "__device__ void tessera_variant(const __nv_bfloat16* w, const float* x, float* y, int rows, int cols) {\n"
      "  float s = 0.0f;\n"
      "  s += undeclared_thing;\n"
      "  y[0] = s;\n"
      "}\n",
      spec());
  EXPECT_FALSE(r.ok);
  ASSERT_FALSE(r.diagnostics.empty()) << r.log;
  EXPECT_EQ(r.diagnostics[0].file, "variant");
  EXPECT_EQ(r.diagnostics[0].line, 4);
  EXPECT_NE(r.diagnostics[0].message.find("undeclared_thing"), std::string::npos) << r.diagnostics[0].message;
  EXPECT_NE(r.summary().find("variant line 4: "), std::string::npos) << r.summary();
}

// A host function the deny-list does not know, declared __device__ so the front end takes
// the call: the static gate passes it, ptxas finds nothing to link.
TEST(VariantCompile, HostFunctionTheTokenGateMissesFailsToLink) {
  REQUIRE_NVRTC();
  const std::string src =
      "#include <cuda_bf16.h>\n"
      "__device__ long sysconf(int name);\n"
      "__device__ void tessera_variant(const __nv_bfloat16* w, const float* x, float* y, int rows, int cols) {\n"
      "  if (threadIdx.x == 0) y[0] = float(sysconf(84));\n"
      "}\n";
  ASSERT_TRUE(agents::check_variant(src, guard_policy(spec())).ok()) << agents::check_variant(src, guard_policy(spec())).summary();
  const CompileResult r = compile_variant(src, spec());
  EXPECT_FALSE(r.ok);
  ASSERT_FALSE(r.diagnostics.empty()) << r.log;
  EXPECT_EQ(r.diagnostics[0].file, "ptxas");
  EXPECT_NE(r.diagnostics[0].message.find("Unresolved extern function"), std::string::npos) << r.diagnostics[0].message;
}

// A host function called without a declaration: NVRTC has no host library to declare it.
TEST(VariantCompile, UndeclaredHostFunctionFailsToCompile) {
  REQUIRE_NVRTC();
  const std::string src =
      "#include <cuda_bf16.h>\n"
      "__device__ void tessera_variant(const __nv_bfloat16* w, const float* x, float* y, int rows, int cols) {\n"
      "  if (threadIdx.x == 0) y[0] = float(getpid());\n"
      "}\n";
  ASSERT_TRUE(agents::check_variant(src, guard_policy(spec())).ok());
  const CompileResult r = compile_variant(src, spec());
  EXPECT_FALSE(r.ok);
  ASSERT_FALSE(r.diagnostics.empty()) << r.log;
  EXPECT_EQ(r.diagnostics[0].line, 3);
  EXPECT_NE(r.diagnostics[0].message.find("getpid"), std::string::npos) << r.diagnostics[0].message;
}

TEST(VariantCompile, IncludeOutsideTheListNeverReachesTheDisk) {
  REQUIRE_NVRTC();
  const CompileResult r = compile_variant(
      "#include \"/usr/include/stdio.h\"\n"
      "__device__ void tessera_variant(const __nv_bfloat16* w, const float* x, float* y, int rows, int cols) {}\n",
      spec());
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 1);
  EXPECT_TRUE(r.log.empty());  // refused before NVRTC ran
  // And a header NVRTC would have to find on its own is not there: no include paths.
  const CompileResult sys = compile_variant(
      "#include <cuda_bf16.h>\n"
      "__device__ void tessera_variant(const __nv_bfloat16* w, const float* x, float* y, int rows, int cols) {\n"
      "  y[0] = float(sizeof(FILE));\n}\n",
      spec());
  EXPECT_FALSE(sys.ok);
}

TEST(VariantCompile, WrongSignatureFailsInTheHarness) {
  REQUIRE_NVRTC();
  const CompileResult r = compile_variant(
      "#include <cuda_bf16.h>\n__device__ void tessera_variant(const float* x, float* y, int n) {}\n", spec());
  EXPECT_FALSE(r.ok);
  ASSERT_FALSE(r.diagnostics.empty()) << r.log;
  EXPECT_EQ(r.diagnostics[0].file, "harness");
}

TEST(VariantCompile, BadArchitectureIsAnError) {
  REQUIRE_NVRTC();
  CompileOptions o;
  o.arch = "compute_80";
  EXPECT_THROW(compile_variant(reference_source(spec()), spec(), o), Error);
}

TEST(VariantCompile, WithoutNvrtcTheGateSaysSo) {
  std::string why;
  if (nvrtc_available(&why)) GTEST_SKIP() << "this build has NVRTC";
  EXPECT_NE(why.find("no NVRTC"), std::string::npos);
  EXPECT_THROW(compile_variant(reference_source(spec()), spec()), Error);
}

}  // namespace
}  // namespace tessera::variants

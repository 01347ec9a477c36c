// The static gate for agent-written instruction variants: a clean variant passes (with its
// include, asm and atomics on its own parameters), and each way out of the variant's surface
// is rejected with its line, including the reward-hacking cases a static check can see
// (a result cached across calls, clock reads, writes through atomics to memory that is not
// the variant's). Hangs, wrong shapes and out-of-bounds writes are for the run-time gates.
#include "agents/variant_guard.h"
#include "agents_scripted_server.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agents/anchors.h"
#include "agents/fenced_code.h"

namespace tessera::agents {
namespace {

VariantGuardPolicy gemv_policy() {
  VariantGuardPolicy p;
  p.entry = "gemv_tile";
  p.signature = "const __nv_bfloat16* __restrict__ w, const float* __restrict__ x, float* __restrict__ y, int rows, int cols";
  return p;
}

// The one finding's "line N: [rule]" prefix, or the whole report when there is not exactly one.
std::string only_finding(const std::string& src, const VariantGuardPolicy& p = VariantGuardPolicy{}) {
  const GuardReport r = check_variant(src, p);
  if (r.findings.size() != 1) return "findings:\n" + r.summary();
  return fmt::format("line {}: [{}]", r.findings[0].line, r.findings[0].rule);
}

bool mentions(const std::string& src, const std::string& text, const VariantGuardPolicy& p = VariantGuardPolicy{}) {
  return check_variant(src, p).summary().find(text) != std::string::npos;
}

TEST(AgentsVariantGuard, CleanVariantsPass) {
  const std::string fixed = extract_fenced_block(
      nlohmann::json::parse(test::agents_data("openai_debug_fix.json"))["choices"][0]["message"]["content"], "cuda");
  const GuardReport r = check_variant(strip_anchors(fixed, AnchorLanguage::Cuda), gemv_policy());
  EXPECT_TRUE(r.ok()) << r.summary();

  const std::string src = R"(#include <cuda_bf16.h>
// printf("in a comment is fine"); malloc too
__device__ __forceinline__ float load(const float* p) {
  float v;
  asm volatile("ld.global.nc.f32 %0, [%1];" : "=f"(v) : "l"(p));
  return v;
}
__device__ void reduce(const float* x, float* out, int n) {
  __shared__ float part[32];
  float* slot = out + blockIdx.x;
  const char* note = "clock64() in a string is not a call";
  #pragma unroll 4
  for (int i = threadIdx.x; i < n; i += blockDim.x) atomicAdd(&part[i % 32], load(x + i));
  __syncthreads();
  if (threadIdx.x == 0) atomicAdd(slot, part[0]);
  (void)note;
}
)";
  const GuardReport r2 = check_variant(src, VariantGuardPolicy{});
  EXPECT_TRUE(r2.ok()) << r2.summary();
}

TEST(AgentsVariantGuard, IncludesAndPreprocessor) {
  EXPECT_EQ(only_finding("#include <cstdio>\n__device__ void f() {}\n"), "line 1: [include]");
  EXPECT_TRUE(mentions("#include <cstdio>\n", "'cstdio' is not allowed (allowed: cuda_bf16.h, cuda_fp16.h, cuda_fp8.h)"));
  EXPECT_EQ(only_finding("\n#include \"../../harness/timer.h\"\n"), "line 2: [include]");
  EXPECT_EQ(only_finding("#define P(x) pri##ntf(x)\n"), "line 1: [preprocessor]");
  EXPECT_EQ(only_finding("__device__ void f() {\n#pragma nounroll\n}\n"), "line 2: [preprocessor]");
  EXPECT_TRUE(check_variant("#if __CUDA_ARCH__ >= 900\n#endif\n", {}).ok());
}

TEST(AgentsVariantGuard, HostAndLibraryCalls) {
  EXPECT_EQ(only_finding("__device__ void f(float* y) {\n  float* t = (float*)malloc(64);\n  y[0] = t[0];\n}\n"),
            "line 2: [host-call]");
  EXPECT_EQ(only_finding("__device__ void f() {\n  printf(\"%d\", 1);\n}\n"), "line 2: [host-call]");
  EXPECT_EQ(only_finding("__device__ void f(float* y) {\n  cudaMemcpyAsync(y, y, 4, cudaMemcpyDeviceToDevice);\n}\n"),
            "findings:\nline 2: [host-call] uses cudaMemcpyAsync: CUDA runtime, driver and library APIs belong to the "
            "harness\nline 2: [host-call] uses cudaMemcpyDeviceToDevice: CUDA runtime, driver and library APIs belong "
            "to the harness\n");
  EXPECT_EQ(only_finding("__device__ void f(float* y) {\n  y[0] = std::sqrt(2.f);\n}\n"), "line 2: [host-call]");
  EXPECT_EQ(only_finding("__device__ void f(float* y) {\n  float* p = new float[4];\n}\n"), "line 2: [host-call]");
}

TEST(AgentsVariantGuard, HostCodeAndKernels) {
  EXPECT_EQ(only_finding("void helper() {}\n"), "line 1: [host-code]");
  EXPECT_EQ(only_finding("__host__ __device__ int g() { return 1; }\n"), "line 1: [host-code]");
  EXPECT_EQ(only_finding("__device__ void f() {}\n__global__ void k() { f(); }\n"), "line 2: [host-code]");
  EXPECT_EQ(only_finding("extern __device__ float table[];\n"),
            "findings:\nline 1: [global-state] __device__ variable at file scope: state that survives a call (a "
            "cached result) is not allowed; use the parameters\nline 1: [host-code] extern declarations reach outside "
            "the variant\n");
}

TEST(AgentsVariantGuard, InlineAsmAllowList) {
  EXPECT_EQ(only_finding("__device__ void f() {\n  asm volatile(\"trap;\");\n}\n"), "line 2: [inline-asm]");
  EXPECT_TRUE(mentions("__device__ void f() { asm(\"membar.sys;\"); }\n", "'membar.sys' is not in the allow-list"));
  EXPECT_TRUE(check_variant("__device__ void f(const void* p) {\n  asm volatile(\"{\\n .reg .pred q;\\n @q "
                            "cp.async.cg.shared.global [%0], [%1], 16;\\n}\" :: \"r\"(0), \"l\"(p));\n}\n",
                            {})
                  .ok());
}

// Reward hacking: timing read from inside the variant.
TEST(AgentsVariantGuard, RewardHackReadingTheClockIsRejected) {
  EXPECT_EQ(only_finding("__device__ void f(long long* t) {\n  t[0] = clock64();\n}\n"), "line 2: [timer]");
  EXPECT_EQ(only_finding("__device__ void f(unsigned long long* t) {\n  unsigned long long g;\n"
                         "  asm volatile(\"mov.u64 %0, %globaltimer;\" : \"=l\"(g));\n  t[0] = g;\n}\n"),
            "findings:\nline 3: [inline-asm] asm instruction 'mov.u64' is not in the allow-list\nline 3: [timer] asm "
            "reads %globaltimer: timing belongs to the harness\n");
  EXPECT_EQ(only_finding("__device__ void f() {\n  __nanosleep(100);\n}\n"), "line 2: [timer]");
}

// Reward hacking: a result cached across calls and returned for new inputs.
TEST(AgentsVariantGuard, RewardHackCachingAcrossCallsIsRejected) {
  EXPECT_EQ(only_finding("__device__ float cached[4096];\n__device__ void f(const float* x, float* y) {\n"
                         "  y[threadIdx.x] = cached[threadIdx.x];\n}\n"),
            "line 1: [global-state]");
  EXPECT_EQ(only_finding("__device__ void f(const float* x, float* y) {\n  static bool done = false;\n"
                         "  if (!done) y[0] = x[0];\n  done = true;\n}\n"),
            "line 2: [global-state]");
  EXPECT_EQ(only_finding("__managed__ float m;\n"), "line 1: [global-state]");
}

// Reward hacking: writing outside the memory the harness handed over.
TEST(AgentsVariantGuard, RewardHackAtomicsOutsideTheParametersAreRejected) {
  EXPECT_EQ(only_finding("__device__ void f(float* y) {\n  atomicAdd((float*)0x7f0000001000ull, 1.f);\n}\n"),
            "line 2: [atomic-target]");
  // An integer parameter cast to a pointer is an address the harness did not hand over.
  EXPECT_EQ(only_finding("__device__ void f(float* y, unsigned long long a) {\n  atomicExch((int*)a, 1);\n}\n"),
            "line 2: [atomic-target]");
  // Derived from a parameter: allowed.
  EXPECT_TRUE(check_variant("__device__ void f(float* y) {\n  float* row = y + 4 * blockIdx.x;\n"
                            "  atomicAdd(&row[threadIdx.x], 1.f);\n}\n",
                            {})
                  .ok());
}

TEST(AgentsVariantGuard, EntryAndSignatureAreFixed) {
  const VariantGuardPolicy p = gemv_policy();
  EXPECT_EQ(only_finding("__device__ void other() {}\n", p), "line 1: [signature]");
  const std::string wrong = "__device__ void gemv_tile(const float* w, const float* x, float* y, int rows, int cols) {}\n";
  EXPECT_TRUE(mentions(wrong, "'gemv_tile' has parameters (const float * w , const float * x", p));
  EXPECT_TRUE(mentions(wrong, "requires (const __nv_bfloat16 * __restrict__ w", p));
}

TEST(AgentsVariantGuard, NamespacesAreFileScope) {
  EXPECT_TRUE(check_variant("namespace {\n__device__ void f(float* y) { atomicAdd(y, 1.f); }\n}\n", {}).ok());
  EXPECT_EQ(only_finding("namespace v {\nvoid host_side() {}\n}  // namespace v\n"), "line 2: [host-code]");
  EXPECT_EQ(only_finding("namespace v {\n__device__ int cache;\n}\n"), "line 2: [global-state]");
}

TEST(AgentsVariantGuard, LexicalErrorsAreFindings) {
  EXPECT_EQ(only_finding("__device__ void f() {}\n/* never closed\n"), "line 2: [lexical]");
  EXPECT_EQ(only_finding("__device__ void f() {\n  const char* s = \"open;\n}\n"), "line 2: [lexical]");
}

}  // namespace
}  // namespace tessera::agents

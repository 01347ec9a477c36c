// End to end: plans lowered for the device's SM count, run by CudaEngine, against the CPU
// reference engine on the same weights; the validator gate; the watchdog.
//
// Bounds. Random-weight models are built with bf16-exact weights, so both engines multiply
// the same numbers and differ only in summation order (fp32) and, with the default
// kv_dtype=bf16, in the GPU's bf16 KV cache (the CPU keeps f32): per-step logits relative
// error (||gpu - cpu|| / ||cpu||) must stay under 1e-3 with an f32 cache and 2e-2 with a
// bf16 cache (one bf16 rounding, 2^-9 relative, of every cached k/v, carried through the
// layers). Tokens are compared teacher-forced (both engines fed the CPU's greedy token):
// a different argmax is allowed only where the CPU's top-2 margin is below
// bound * max|logit|; every such case is printed.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <regex>

#include "core/dtype.h"
#include "core/error.h"
#include "cuda_test_util.h"
#include "e2e_compare.h"
#include "engine/cpu_engine.h"
#include "model/load.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "test_util.h"

namespace tessera::test {
namespace {

// Two runners of one model, fed the same greedy tokens, give the same logits to the bit.
void expect_bit_identical(CudaEngine& a, CudaEngine& b, int steps) {
  int token = 1;
  for (int pos = 0; pos < steps; ++pos) {
    const std::vector<float> lb = b.forward(token, pos);
    const std::vector<float>& la = a.forward(token, pos);
    ASSERT_EQ(la.size(), lb.size());
    for (size_t i = 0; i < la.size(); ++i) ASSERT_EQ(la[i], lb[i]) << "pos " << pos << " logit " << i;
    token = a.next_token();
    ASSERT_EQ(b.next_token(), token);
  }
}

void compare_engines(const Model& m, const Plan& plan, double bound, int steps, const std::string& label,
                     const CudaOptions& options = {}) {
  CudaEngine gpu(plan, m, options);
  compare_with_cpu(m, gpu, [&] { return gpu.next_token(); }, bound, steps, label);
}

TEST(CudaEngine, MatchesCpuOnRandomTiny) {
  TESSERA_REQUIRE_CUDA();
  Model m = random_bf16_model("tiny", 11);
  LowerConfig k;
  k.kv_dtype = "f32";
  compare_engines(m, plan_for_device(m.config, k, 128, "tiny kv f32"), 1e-3, 64, "tiny, kv f32");
  compare_engines(m, plan_for_device(m.config, LowerConfig{}, 128, "tiny"), 2e-2, 64, "tiny, kv bf16");
  LowerConfig s;
  s.kv_splits = 4;
  compare_engines(m, plan_for_device(m.config, s, 128, "tiny splits 4"), 2e-2, 64, "tiny, kv bf16, 4 kv splits");
  CudaOptions ring;  // the bulk-copy weight ring (sm_90+; plain loads elsewhere)
  ring.ring_bytes = int64_t(1) << 30;
  compare_engines(m, plan_for_device(m.config, LowerConfig{}, 128, "tiny"), 2e-2, 64, "tiny, kv bf16, weight ring", ring);
  CudaOptions global_desc;  // the default copies descriptors into shared memory
  global_desc.descriptors_in_smem = 0;
  compare_engines(m, plan_for_device(m.config, LowerConfig{}, 128, "tiny"), 2e-2, 64, "tiny, kv bf16, descriptors in global memory",
                  global_desc);
  CudaOptions one;  // the default is two rows per warp
  one.rows_per_warp = 1;
  compare_engines(m, plan_for_device(m.config, LowerConfig{}, 128, "tiny"), 2e-2, 64, "tiny, kv bf16, 1 row per warp", one);
}

TEST(CudaEngine, MatchesCpuOnRandomStories260kShape) {
  TESSERA_REQUIRE_CUDA();
  Model m = random_bf16_model("stories260k", 12);
  LowerConfig k;
  k.kv_dtype = "f32";
  compare_engines(m, plan_for_device(m.config, k, 256, "stories260k kv f32"), 1e-3, 64, "stories260k shape, kv f32");
  compare_engines(m, plan_for_device(m.config, LowerConfig{}, 256, "stories260k"), 2e-2, 64, "stories260k shape, kv bf16");
  CudaOptions ring;
  ring.ring_bytes = int64_t(1) << 30;
  compare_engines(m, plan_for_device(m.config, LowerConfig{}, 256, "stories260k"), 2e-2, 64,
                  "stories260k shape, kv bf16, weight ring", ring);
}

// The weight ring is the plan's instruction variant (knob pipeline_stages, asked for in
// Resources::smem_bytes): the runtime allocates what the plan asks where bulk copies exist,
// and the ring computes the same sums as plain loads, so the logits are bit-identical. Two
// runners of different shared memory live in one process, as in bench --compare.
TEST(CudaEngine, PlanAsksForTheWeightRing) {
  TESSERA_REQUIRE_CUDA();
  Model m = random_bf16_model("stories260k", 13);
  LowerConfig plain, ring;
  ring.pipeline_stages = 4;
  const Plan p0 = plan_for_device(m.config, plain, 64, "stories260k");
  const Plan p4 = plan_for_device(m.config, ring, 64, "stories260k ring");
  ASSERT_EQ(p0.resources.smem_bytes, 0);
  ASSERT_EQ(p4.resources.smem_bytes, 4 * 16384);
  // The ring's runner first: the plain runner's smaller shared memory must not shrink the
  // kernel's bound under it (bench --compare holds both; that failed its launches).
  CudaEngine b(p4, m);
  CudaEngine a(p0, m);
  EXPECT_EQ(a.runner().ring_bytes(), 0);
  int major = 0;
  ASSERT_EQ(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0), cudaSuccess);
  EXPECT_EQ(b.runner().ring_bytes(), major >= 9 ? 4 * 16384 : 0);
  expect_bit_identical(a, b, 8);
}

// Threads per block and rows per warp are the plan's instruction variants (knobs threads,
// rows_per_warp; Resources): the runner launches what the plan asks. One row per warp or
// two, a lane adds the same pieces in the same order, so the logits are bit-identical; 128
// threads instead of 256 change the norm's block reduction order, so that plan is held to
// the CPU reference's bound.
TEST(CudaEngine, PlanChoosesThreadsAndRowsPerWarp) {
  TESSERA_REQUIRE_CUDA();
  Model m = random_bf16_model("stories260k", 14);
  LowerConfig one, narrow;
  one.rows_per_warp = 1;
  narrow.threads = 128;
  const Plan p2 = plan_for_device(m.config, LowerConfig{}, 64, "stories260k");
  const Plan p1 = plan_for_device(m.config, one, 64, "stories260k rows_per_warp=1");
  const Plan p128 = plan_for_device(m.config, narrow, 64, "stories260k threads=128");
  ASSERT_EQ(p1.resources.rows_per_warp, 1);
  ASSERT_EQ(p128.resources.threads, 128);
  CudaEngine a(p2, m), b(p1, m);
  EXPECT_EQ(a.runner().rows_per_warp(), 2);
  EXPECT_EQ(b.runner().rows_per_warp(), 1);
  expect_bit_identical(a, b, 8);
  {
    CudaEngine c(p128, m);
    EXPECT_EQ(c.runner().threads(), 128);
  }
  compare_engines(m, p128, 2e-2, 32, "stories260k shape, kv bf16, 128 threads");
}

// The real checkpoint (f32 in the file). With f32 weights and cache in the plan the GPU must
// tell exactly the CPU's story (free-running greedy); the bf16 plan is compared
// teacher-forced with the margin rule above.
TEST(CudaEngine, Stories260kTellsTheCpuStory) {
  TESSERA_REQUIRE_CUDA();
  auto path = shared_model("stories260K.bin");
  if (!path) GTEST_SKIP() << "stories260K.bin not found (set TESSERA_SHARED_DIR to the folder holding models/)";
  Model m = load_model(*path);
  LowerConfig k;
  k.weight_dtype = "f32";
  k.kv_dtype = "f32";
  const Plan plan = plan_for_device(m.config, k, 256, "stories260K f32");
  CpuEngine cpu(m, plan.context, 2);
  CudaEngine gpu(plan, m);
  int tc = 1, tg = 1;
  std::vector<int> sc, sg;
  for (int pos = 0; pos < 64; ++pos) {
    tc = argmax(cpu.forward(tc, pos));
    gpu.forward(tg, pos);
    tg = gpu.next_token();
    sc.push_back(tc);
    sg.push_back(tg);
  }
  EXPECT_EQ(sg, sc) << "the GPU's greedy story differs from the CPU engine's";
  std::printf("[ e2e      ] stories260K f32 plan: 64 greedy tokens %s\n", sg == sc ? "identical" : "DIFFER");
  compare_engines(m, plan_for_device(m.config, LowerConfig{}, 256, "stories260K bf16"), 2e-2, 64, "stories260K bf16 weights");
}

TEST(CudaEngine, RefusesARejectedPlan) {
  // Needs no GPU: the validator runs before the device is touched.
  Model m = random_bf16_model("tiny", 13);
  Target t = target_preset("sm_90a");
  t.sms = 8;
  LowerConfig k;
  k.sms = 8;
  Plan plan = lower(m.config, t, k, 64, "tiny");
  // Drop every wait of the first task that has any: it now races with its producers.
  auto it = std::find_if(plan.tasks.begin(), plan.tasks.end(), [](const Task& x) { return !x.waits.empty(); });
  ASSERT_NE(it, plan.tasks.end());
  it->waits.clear();
  try {
    CudaEngine e(plan, m);
    FAIL() << "a plan the validator rejects was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is rejected by the validator"), std::string::npos) << e.what();
  }
}

// A plan made to stall: one producer's signal removed, so a full-join wait can never be
// met. Validation is bypassed in this test only; the launch must end in the watchdog's
// report within the bound, and the engine must refuse further steps.
TEST(CudaEngine, WatchdogReportsAStalledPlan) {
  TESSERA_REQUIRE_CUDA();
  Model m = random_bf16_model("tiny", 14);
  Plan plan = plan_for_device(m.config, LowerConfig{}, 64, "tiny stalled");
  const std::vector<int64_t> totals = per_step_totals(plan);
  int32_t counter = -1;
  for (const Task& t : plan.tasks)
    for (const Wait& w : t.waits)
      if (counter < 0 && w.threshold == totals[size_t(w.counter)]) counter = w.counter;
  ASSERT_GE(counter, 0) << "no full-join wait in the tiny plan";
  bool removed = false;
  for (Task& t : plan.tasks)
    for (size_t i = 0; i < t.signals.size() && !removed; ++i)
      if (t.signals[i].counter == counter) {
        t.signals.erase(t.signals.begin() + int64_t(i));
        removed = true;
      }
  ASSERT_TRUE(removed);
  CudaOptions o;
  o.unsafe_skip_validation = true;
  o.watchdog_seconds = 0.5;
  CudaEngine e(plan, m, o);
  const auto start = std::chrono::steady_clock::now();
  std::string msg;
  try {
    e.forward(1, 0);
  } catch (const Error& err) {
    msg = err.what();
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ watchdog ] %s (after %.2f s)\n", msg.c_str(), secs);
  ASSERT_FALSE(msg.empty()) << "the stalled plan finished";
  // The first block past the bound reports: it may wait on the starved counter or on one
  // downstream of it, so any counter of the plan may be named.
  EXPECT_TRUE(std::regex_search(
      msg, std::regex(R"(^watchdog: block \d+ task \d+ \([a-z_]+\) waited 0\.[5-9] s on counter '[^']+' \(value \d+, needs \d+\)$)")))
      << msg;
  EXPECT_LT(secs, 10.0);
  try {
    e.forward(1, 1);
    FAIL() << "a failed engine ran another step";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("an earlier step failed"), std::string::npos) << err.what();
  }
}

}  // namespace
}  // namespace tessera::test

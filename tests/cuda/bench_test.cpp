// The bench harness on a GPU: the floor guard catches a planted step that skips its work,
// the megakernel on `tiny` times without error above its floor, the ceilings are physical,
// and a failing step's error reaches the caller. Skips without a device.
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include "bench/floor.h"
#include "bench/record.h"
#include "bench/stats.h"
#include "core/error.h"
#include "cuda/bench_gpu.h"
#include "cuda/timed_step.h"
#include "cuda_test_util.h"
#include "emulate/shape_model.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "test_util.h"

namespace tessera::test {

cudaError_t launch_empty_kernel(void* stream);  // empty_kernel.cu

namespace {

// Launches an empty kernel as its "decode step"; optionally reports a failure afterwards.
class PlantedStep : public TimedStep {
 public:
  explicit PlantedStep(bool fail_after = false) : fail_after_(fail_after) {}
  std::string name() const override { return "planted-empty"; }
  void enqueue(int64_t, void* stream) override {
    if (cudaError_t e = launch_empty_kernel(stream); e != cudaSuccess) fail("empty kernel: {}", cudaGetErrorString(e));
  }
  void check_after_sync() override {
    if (fail_after_) fail("planted step failure");
  }
  int64_t context() const override { return 8192; }

 private:
  bool fail_after_;
};

const Ceilings& ceilings() {
  static const Ceilings c = measure_ceilings();
  return c;
}

Floor floor_for(const std::string& shape, int64_t pos) {
  return floor_of(step_work(shape_config(shape), pos), ceilings().copy_gbps * 1e9, ceilings().matmul_tflops * 1e12);
}

TEST(BenchGpu, CeilingsArePhysical) {
  TESSERA_REQUIRE_CUDA();
  EXPECT_GT(ceilings().copy_gbps, 0);
  EXPECT_LT(ceilings().copy_gbps, 20'000);  // 20 TB/s: no GPU of today copies faster
  EXPECT_GT(ceilings().matmul_tflops, 1);
  EXPECT_LT(ceilings().matmul_tflops, 20'000);
  EXPECT_NE(ceilings().copy_method.find("best of 10"), std::string::npos);
  const GpuInfo g = read_gpu_info();
  EXPECT_FALSE(g.name.empty());
  EXPECT_FALSE(g.runtime_version.empty());
  EXPECT_GT(g.sm_clock_max_mhz, 0) << g.clock_source;
  if (g.clock_source == "nvml") {
    EXPECT_GT(g.sm_clock_mhz, 0);
    EXPECT_LE(g.sm_clock_mhz, g.sm_clock_max_mhz);
  }
  std::printf("%s: copy %.0f GB/s, matmul %.0f TFLOP/s, clocks via %s\n", g.name.c_str(), ceilings().copy_gbps,
              ceilings().matmul_tflops, g.clock_source.c_str());
}

TEST(BenchGpu, FloorGuardCatchesAStepThatSkipsItsWork) {
  TESSERA_REQUIRE_CUDA();
  const StepWork work = step_work(shape_config("llama-3.2-1b"), 1);
  const Floor floor = floor_for("llama-3.2-1b", 1);
  PlantedStep step;
  TimingOptions o;
  o.warmup = 5;
  o.steps = 50;
  o.working_set_bytes = work.bytes();
  const Timing t = time_step(step, 1, o);
  ASSERT_EQ(t.seconds.size(), 50u);
  EXPECT_FALSE(t.l2_flushed);  // 2.47 GB is far beyond any L2
  const Summary s = summarize(t.seconds);
  const FloorVerdict v = check_floor(step.name(), 1, s, floor.seconds);
  EXPECT_FALSE(v.ok) << "an empty kernel took " << s.min * 1e3 << " ms against a floor of " << floor.seconds * 1e3;
  EXPECT_NE(v.message.find("planted-empty at position 1"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("below the floor"), std::string::npos) << v.message;
}

TEST(BenchGpu, MegakernelOnTinyTimesAboveItsFloor) {
  TESSERA_REQUIRE_CUDA();
  const Model model = shape_model("tiny", 3);
  const Plan plan = plan_for_device(model.config, {}, 64, "tiny");
  std::unique_ptr<TimedStep> step = make_timed_step("megakernel", model, &plan, 64);
  ASSERT_EQ(step->context(), 64);
  for (int64_t pos : {0, 40}) {
    const StepWork work = step_work(model.config, pos);
    TimingOptions o;
    o.warmup = 5;
    o.steps = 30;
    o.working_set_bytes = work.bytes();
    const Timing t = time_step(*step, pos, o);
    EXPECT_TRUE(t.l2_flushed);  // a 200 KB working set fits in L2
    const Summary s = summarize(t.seconds);
    const Floor floor = floor_for("tiny", pos);
    EXPECT_GT(s.median, floor.seconds);
    const FloorVerdict v = check_floor("megakernel", pos, s, floor.seconds);
    EXPECT_TRUE(v.ok) << v.message;
    EXPECT_LT(s.median, 0.1) << "a tiny step should take microseconds, not 100 ms";
  }
  EXPECT_THROW(time_step(*step, 64, {}), Error);  // outside the plan's context
}

TEST(BenchGpu, CompareInterleavesAndRatiosAreNearOneForTwinSteps) {
  TESSERA_REQUIRE_CUDA();
  const Model model = shape_model("tiny", 3);
  const Plan plan = plan_for_device(model.config, {}, 32, "tiny");
  auto a = make_timed_step("megakernel", model, &plan, 32);
  auto b = make_timed_step("megakernel", model, &plan, 32);
  TimingOptions o;
  o.warmup = 3;
  o.steps = 40;
  o.working_set_bytes = step_work(model.config, 5).bytes();
  const Comparison c = compare(*a, *b, 5, o);
  ASSERT_EQ(c.ratios.size(), 40u);
  ASSERT_EQ(c.a.seconds.size(), 40u);
  EXPECT_DOUBLE_EQ(c.ratios[7], c.a.seconds[7] / c.b.seconds[7]);
  const Summary r = summarize(c.ratios);
  EXPECT_GT(r.median, 0.7);
  EXPECT_LT(r.median, 1.4);
}

TEST(BenchGpu, AStepsFailureReachesTheCaller) {
  TESSERA_REQUIRE_CUDA();
  PlantedStep failing(/*fail_after=*/true);
  TimingOptions o;
  o.warmup = 1;
  o.steps = 3;
  try {
    time_step(failing, 0, o);
    FAIL() << "expected the planted failure";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("planted step failure"), std::string::npos) << e.what();
  }
}

TEST(BenchGpu, CliMeasuresTinyAndWritesRecords) {
  TESSERA_REQUIRE_CUDA();
  TempDir tmp;
  const RunResult r = run_tessera("bench --shape tiny --positions 0,7 --steps 20 --warmup 3 --json " + tmp.file("r.json") +
                                  " --svg " + tmp.file("c.svg"));
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("bench: megakernel tiny pos 7: median"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| tiny | 0 |"), std::string::npos) << r.out;
  const std::vector<BenchRecord> records = read_records(tmp.file("r.json"));
  ASSERT_EQ(records.size(), 2u);
  for (const BenchRecord& rec : records) {
    EXPECT_EQ(rec.backend, "megakernel");
    EXPECT_EQ(rec.plan, "default");
    EXPECT_EQ(rec.steps, 20);
    EXPECT_GT(rec.ratio, 1);
    EXPECT_GE(rec.min_ms, rec.floor_ms);
    EXPECT_GT(rec.ceilings.copy_gbps, 0);
    EXPECT_FALSE(rec.gpu.name.empty());
  }
  EXPECT_EQ(records[1].position, 7);
  EXPECT_NE(slurp(tmp.file("c.svg")).find("<rect class=\"bar\""), std::string::npos);
}

}  // namespace
}  // namespace tessera::test

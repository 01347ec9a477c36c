#include "cuda/gpu_measurer.h"

#include <map>

#include <fmt/format.h>

#include "bench/floor.h"
#include "bench/stats.h"
#include "core/error.h"
#include "cuda/bench_gpu.h"
#include "cuda/runtime.h"
#include "cuda/timed_step.h"
#include "verify/backend_check.h"

namespace tessera {

namespace {

// Each instruction kind's time in `steps` traced steps at `pos` (search/kind_times.h), from
// the tasks' ready .. done marks on the GPU's global timer. Traced apart from the timed
// steps: the marks cost a few global stores per task, which the step time must not carry.
KindTimes traced_kind_times(PlanRunner& runner, int64_t pos, int steps) {
  std::vector<std::map<std::string, double>> per_step;
  runner.set_trace(true);
  try {
    for (int i = 0; i < steps; ++i) {
      runner.step(pos);
      std::vector<TaskSpan> spans;
      for (const PlanRunner::TaskTiming& t : runner.last_trace())
        spans.push_back({t.task, double(t.ready_ns) * 1e-9, double(t.done_ns) * 1e-9});
      per_step.push_back(kind_times_of(runner.plan(), spans));
    }
  } catch (...) {
    runner.set_trace(false);
    throw;
  }
  runner.set_trace(false);
  return summarize_kind_times(per_step);
}

}  // namespace

GpuMeasurer::GpuMeasurer(const Model& model, const GpuMeasurerOptions& options) : model_(model), opt_(options) {
  if (std::string why; !cuda_device_available(&why)) fail("GPU measurer: no usable CUDA device ({})", why);
  if (opt_.steps < 1 || opt_.warmup < 0 || opt_.verify_steps < 1)
    fail("GPU measurer: steps {} (>= 1), warmup {} (>= 0), verify steps {} (>= 1)", opt_.steps, opt_.warmup,
         opt_.verify_steps);
  ceilings_ = measure_ceilings();
  device_ = read_gpu_info().name;
}

std::string GpuMeasurer::name() const { return "cuda:" + device_; }

std::string GpuMeasurer::verify(const Plan& plan) {
  try {
    CudaEngine gpu(plan, model_);
    BackendCheckOptions o;
    o.prompt = {model_.config.bos_token_id >= 0 ? model_.config.bos_token_id : 1};
    o.steps = opt_.verify_steps;
    o.tolerance = opt_.tolerance;
    const BackendCheck c = check_backend(model_, gpu, o);
    if (!c.passed(opt_.tolerance)) return "GPU result differs from the CPU reference:\n" + c.summary(opt_.tolerance);
    return "";
  } catch (const Error& e) {
    return fmt::format("GPU verification failed: {}", e.what());
  }
}

Measurement GpuMeasurer::measure(const Plan& plan) {
  Measurement m;
  try {
    if (opt_.position >= plan.context)
      fail("position {} is not below the plan's context {}", opt_.position, plan.context);
    std::unique_ptr<TimedStep> step = make_timed_step("megakernel", model_, &plan, plan.context);
    const StepWork work = step_work(model_.config, opt_.position);
    TimingOptions t;
    t.warmup = opt_.warmup;
    t.steps = opt_.steps;
    t.working_set_bytes = work.bytes();
    const Timing timing = time_step(*step, opt_.position, t);
    const Summary s = summarize(timing.seconds);
    const Floor floor = floor_of(work, ceilings_.copy_gbps * 1e9, ceilings_.matmul_tflops * 1e12);
    if (FloorVerdict v = check_floor("megakernel", opt_.position, s, floor.seconds); !v.ok) {
      m.error = "measurement error: " + v.message;
      return m;
    }
    m.median_s = s.median;
    m.spread = s.spread();
    if (PlanRunner* runner = step->runner(); runner && opt_.trace_steps > 0)
      m.kinds = traced_kind_times(*runner, opt_.position, opt_.trace_steps);
  } catch (const Error& e) {
    m.error = e.what();
  }
  return m;
}

PairedRatio GpuMeasurer::compare(const Plan& candidate, const Plan& reference) {
  PairedRatio r;
  try {
    for (const Plan* p : {&candidate, &reference})
      if (opt_.position >= p->context)
        fail("position {} is not below the plan's context {}", opt_.position, p->context);
    std::unique_ptr<TimedStep> a = make_timed_step("megakernel", model_, &candidate, candidate.context);
    std::unique_ptr<TimedStep> b = make_timed_step("megakernel", model_, &reference, reference.context);
    TimingOptions t;
    t.warmup = opt_.warmup;
    t.steps = opt_.steps;
    t.working_set_bytes = step_work(model_.config, opt_.position).bytes();
    const Summary s = summarize(tessera::compare(*a, *b, opt_.position, t).ratios);
    r.pairs = s.n;
    r.median = s.median;
    r.p10 = s.p10;
    r.p90 = s.p90;
  } catch (const Error& e) {
    r.error = e.what();
  }
  return r;
}

}  // namespace tessera

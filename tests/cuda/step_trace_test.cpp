// The megakernel's per-task trace: every task stamped, the stamps ordered as the kernel
// takes them (turned <= ready <= done, a block's tasks one after another), a consumer ready
// no earlier than the first of its producers signalled, the summary covering every task, and
// the Chrome trace written; a traced step computes the same logits as an untraced one.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "cuda/step_trace.h"
#include "cuda_test_util.h"
#include "e2e_compare.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "test_util.h"

namespace tessera::test {
namespace {

Plan tiny_plan(const Model& m) { return plan_for_device(m.config, {}, 64, "tiny"); }

TEST(StepTrace, StampsEveryTaskInKernelOrder) {
  TESSERA_REQUIRE_CUDA();
  const Model m = random_bf16_model("tiny", 5);
  const Plan plan = tiny_plan(m);
  CudaEngine a(plan, m), b(plan, m);
  for (int pos = 0; pos < 3; ++pos) {
    a.forward(1 + pos, pos);
    b.forward(1 + pos, pos);
  }
  EXPECT_THROW(a.runner().last_trace(), Error) << "tracing is off";
  TempDir dir;
  const std::string path = dir.file("trace.json");
  const std::vector<float> ref = b.forward(9, 3);
  a.runner().write(plan.token_input, std::vector<int32_t>{9}.data(), 4);
  const StepTimeline tl = trace_one_step(a.runner(), 3, path);
  std::vector<float> got(ref.size());
  int32_t logits = -1;
  for (int32_t o : plan.outputs)
    if (plan.buffers[size_t(o)].name == "logits") logits = o;
  ASSERT_GE(logits, 0);
  a.runner().read(logits, got.data(), got.size() * 4);
  EXPECT_EQ(got, ref) << "a traced step must compute exactly what an untraced one does";

  int counted = 0;
  for (const auto& s : tl.stages) counted += s.tasks;
  EXPECT_EQ(counted, int(plan.tasks.size())) << tl.to_text();
  EXPECT_GT(tl.span_us, 0);
  std::printf("[ trace    ] tiny on %s:\n%s", a.runner().device_name().c_str(), tl.to_text().c_str());

  std::ifstream f(path);
  const nlohmann::json doc = nlohmann::json::parse(f);
  size_t complete = 0;
  for (const auto& e : doc.at("traceEvents")) complete += e.at("ph") == "X";
  EXPECT_EQ(complete, plan.tasks.size());
}

TEST(StepTrace, TimestampsAreOrdered) {
  TESSERA_REQUIRE_CUDA();
  const Model m = random_bf16_model("tiny", 6);
  const Plan plan = tiny_plan(m);
  CudaEngine e(plan, m);
  e.forward(1, 0);
  e.runner().set_trace(true);
  EXPECT_THROW(e.runner().last_trace(), Error) << "no traced step has run yet";
  e.forward(2, 1);
  const auto tr = e.runner().last_trace();
  e.runner().set_trace(false);
  ASSERT_EQ(tr.size(), plan.tasks.size());
  std::map<int32_t, PlanRunner::TaskTiming> by_task;
  for (size_t i = 0; i < tr.size(); ++i) {
    const auto& x = tr[i];
    EXPECT_GT(x.turned_ns, 0) << "task " << x.task << " was not stamped";
    EXPECT_LE(x.turned_ns, x.ready_ns) << "task " << x.task;
    EXPECT_LE(x.ready_ns, x.done_ns) << "task " << x.task;
    EXPECT_EQ(plan.tasks[size_t(x.task)].sm, x.block);
    if (i > 0 && tr[i - 1].block == x.block) EXPECT_LE(tr[i - 1].done_ns, x.turned_ns) << "task " << x.task;
    // Phase marks: every matvec and LM-head task marks its input; a staged (q/k/v) task its
    // body too; each inside its run and in order.
    const Task& task = plan.tasks[size_t(x.task)];
    const bool matvec = task.op == Op::NormMatvec || task.op == Op::LmHeadArgmax;
    if (matvec) EXPECT_GT(x.input_ns, 0) << "task " << x.task << " (" << op_name(task.op) << ") has no input mark";
    if (task.op == Op::NormMatvec && task.p.rope >= 0) EXPECT_GT(x.body_ns, 0) << "task " << x.task << " has no body mark";
    if (task.op == Op::Embed) EXPECT_EQ(x.input_ns, 0) << "task " << x.task << ": embed marks no phase";
    if (x.input_ns != 0) {
      EXPECT_LE(x.ready_ns, x.input_ns) << "task " << x.task;
      EXPECT_LE(x.input_ns, x.body_ns != 0 ? x.body_ns : x.done_ns) << "task " << x.task;
    }
    if (x.body_ns != 0) EXPECT_LE(x.body_ns, x.done_ns) << "task " << x.task;
    by_task[x.task] = x;
  }
  // A wait is met only after some producer of its counter signalled, and a producer stamps
  // `done` right after its signal: so a consumer is ready no earlier than the earliest
  // producer's ready time (its done stamp may trail the signal slightly).
  std::map<int32_t, int64_t> first_producer_ready;
  for (const Task& task : plan.tasks)
    for (const Signal& s : task.signals) {
      auto it = first_producer_ready.find(s.counter);
      const int64_t r = by_task.at(task.id).ready_ns;
      if (it == first_producer_ready.end() || r < it->second) first_producer_ready[s.counter] = r;
    }
  for (const Task& task : plan.tasks)
    for (const Wait& w : task.waits)
      EXPECT_GE(by_task.at(task.id).ready_ns, first_producer_ready.at(w.counter))
          << "task " << task.id << " ready before any producer of counter " << w.counter << " ran";
}

}  // namespace
}  // namespace tessera::test

// The scheduler's round-free dispatch (Dispatch::Free, scheduler.h): it must give the
// reference engine's tokens, still catch a planted race, report a stall without hanging,
// and let an exception from a hook propagate (the planted race in free dispatch is
// EmulateLowered.PlantedRaceAcceptedByAWeakenedValidatorIsCaught). Its interleavings depend on thread timing,
// so each check runs several times with more workers than this machine may have cores.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "core/error.h"
#include "emulate/emulator.h"
#include "emulate/reference_check.h"
#include "emulate/scheduler.h"
#include "emulate/shape_model.h"
#include "plan/lower.h"
#include "validate/validate.h"

namespace tessera {
namespace {

constexpr int kThreads = 4;

EmulatorOptions free_options(const Model& model, uint64_t seed) {
  EmulatorOptions o;
  o.dispatch = "free";
  o.seed = seed;
  o.threads = kThreads;
  o.constants = [&model](const Plan& p, int32_t b) { return constant_values(p, b, model.config); };
  return o;
}

Plan tiny_plan(const Model& model) {
  return lower(model.config, target_preset("sm_90a"), LowerConfig{}, 32, "tiny");
}

TEST(EmulateDispatch, FreeDispatchMatchesEngineOnSmallShapes) {
  for (const char* shape : {"tiny", "stories260k"}) {
    SCOPED_TRACE(shape);
    const Model model = shape_model(shape, 0);
    const Plan plan = lower(model.config, target_preset("sm_90a"), LowerConfig{}, 64, shape);
    ASSERT_TRUE(validate_plan(plan).ok());
    ReferenceCheckOptions o;
    o.prompt = {model.config.bos_token_id >= 0 ? model.config.bos_token_id : 0, 5, 9};
    o.steps = 6;
    o.interleavings = 6;
    o.emulator = free_options(model, 0);
    const ReferenceCheck r = check_against_reference(plan, model, o);
    EXPECT_TRUE(r.passed(1e-5)) << r.summary(1e-5);
    for (const ReferenceRun& run : r.runs) {
      EXPECT_TRUE(run.bit_identical_to_first) << "seed " << run.seed;
      // The serial checks ran (shadow state is on by default) and are part of the step.
      EXPECT_GT(run.serial_seconds_per_step, 0) << "seed " << run.seed;
      EXPECT_LT(run.serial_seconds_per_step, run.seconds_per_step) << "seed " << run.seed;
    }
  }
}

TEST(EmulateDispatch, FreeDispatchReportsAStall) {
  const Model model = shape_model("tiny", 0);
  Plan plan = tiny_plan(model);
  Task* argmax = nullptr;
  for (Task& t : plan.tasks)
    if (t.op == Op::ArgmaxReduce) argmax = &t;
  ASSERT_TRUE(argmax && !argmax->waits.empty());
  const Task& last = *argmax;
  argmax->waits[0].threshold += 1;  // one more signal than the step gives
  for (uint64_t seed = 0; seed < 10; ++seed) {
    Emulator emu(plan, model, free_options(model, seed));
    try {
      emu.forward(1, 0);
      ADD_FAILURE() << "no stall reported";
    } catch (const Error& e) {
      const std::string err = e.what();
      EXPECT_EQ(err.rfind("plan stalls at step 0 (pos 0): no task can run and 1 of ", 0), 0u) << err;
      EXPECT_NE(err.find(fmt::format("task {} (argmax_reduce) waits: counter {} '", last.id,
                                     last.waits[0].counter)),
                std::string::npos) << err;
    }
  }
}

TEST(EmulateDispatch, FreeDispatchPropagatesAHookException) {
  const Model model = shape_model("tiny", 0);
  const Plan plan = tiny_plan(model);
  const int32_t bad = int32_t(plan.tasks.size() / 2);
  // Each hook in turn throws at one task; twins run both under the mutex (cost 0) and
  // outside it (cost large).
  for (const char* where : {"start", "run", "finish"})
    for (int64_t cost : {int64_t(0), int64_t(1) << 30}) {
      SCOPED_TRACE(fmt::format("{} cost {}", where, cost));
      Scheduler sched(plan, kThreads, 7, Dispatch::Free);
      std::atomic<int> ran{0};
      SchedulerHooks h;
      auto maybe_throw = [&](const char* hook, int32_t task) {
        if (task == bad && std::string(hook) == where) throw std::runtime_error(fmt::format("{} failed", hook));
      };
      h.start = [&](int32_t t) { maybe_throw("start", t); };
      h.run = [&](int32_t t) {
        maybe_throw("run", t);
        ++ran;
      };
      h.finish = [&](int32_t t) { maybe_throw("finish", t); };
      h.cost.assign(plan.tasks.size(), cost);
      try {
        sched.run_step(0, 0, h);
        ADD_FAILURE() << "no exception";
      } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), std::string(where) + " failed");
      }
      EXPECT_LT(ran.load(), int(plan.tasks.size()));
    }
}

TEST(EmulateDispatch, FreeDispatchRunsTasksConcurrentlyInCounterOrder) {
  // Twins outside the mutex: each start must find its waits satisfied by finished tasks,
  // each block's tasks must start in queue order, every task once a step, and twins overlap.
  const Model model = shape_model("tiny", 0);
  const Plan plan = tiny_plan(model);
  const std::vector<int64_t> per_step = per_step_totals(plan);
  Scheduler sched(plan, kThreads, 3, Dispatch::Free);
  std::vector<int64_t> finished(plan.counters.size(), 0);  // signals of finished tasks
  for (int64_t step = 0; step < 2; ++step) {
    SCOPED_TRACE(step);
    std::vector<size_t> next(plan.queues.size(), 0);
    std::vector<int> runs(plan.tasks.size(), 0);
    std::mutex mu;
    int active = 0, most = 0;
    SchedulerHooks h;
    h.start = [&](int32_t t) {
      const Task& task = plan.tasks[size_t(t)];
      for (const Wait& w : task.waits)
        EXPECT_GE(finished[size_t(w.counter)], step * per_step[size_t(w.counter)] + w.threshold) << "task " << t;
      EXPECT_EQ(plan.queues[size_t(task.sm)][next[size_t(task.sm)]], t) << "out of queue order";
    };
    h.run = [&](int32_t t) {
      {
        std::lock_guard l(mu);
        most = std::max(most, ++active);
        ++runs[size_t(t)];
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      std::lock_guard l(mu);
      --active;
    };
    h.finish = [&](int32_t t) {
      const Task& task = plan.tasks[size_t(t)];
      for (const Signal& sg : task.signals) finished[size_t(sg.counter)] += sg.inc;
      ++next[size_t(task.sm)];
    };
    h.cost.assign(plan.tasks.size(), int64_t(1) << 30);
    sched.run_step(step, step, h);
    for (size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i], 1) << "task " << i;
    for (size_t c = 0; c < finished.size(); ++c) EXPECT_EQ(finished[c], (step + 1) * per_step[c]) << "counter " << c;
    EXPECT_EQ(sched.counter_values(), finished);
    EXPECT_GT(most, 1) << "no two twins overlapped";
  }
}

TEST(EmulateDispatch, UnknownDispatchIsAnError) {
  const Model model = shape_model("tiny", 0);
  const Plan plan = tiny_plan(model);
  EmulatorOptions o = free_options(model, 0);
  o.dispatch = "async";
  try {
    Emulator emu(plan, model, o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "emulator dispatch must be 'rounds' or 'free', got 'async'");
  }
}

}  // namespace
}  // namespace tessera

// The watchdog's diagnostic, formatted from a report record (no GPU needed).
#include <gtest/gtest.h>

#include "cuda/watchdog.h"

namespace tessera::cuda {
namespace {

TEST(CudaWatchdog, MessageNamesBlockTaskCounterAndValues) {
  Plan plan;
  plan.counters = {{0, "l0.qkv.g0"}, {1, "l0.kv.g1"}};
  plan.tasks.resize(121);
  plan.tasks[120].id = 120;
  plan.tasks[120].op = Op::AttnPartial;
  WatchdogReport r{1, 3, 120, 1, 2, 3, 2'000'000'000};
  EXPECT_EQ(watchdog_message(plan, r),
            "watchdog: block 3 task 120 (attn_partial) waited 2.0 s on counter 'l0.kv.g1' (value 2, needs 3)");
}

TEST(CudaWatchdog, CorruptedIndicesArePrintedAsNumbers) {
  Plan plan;
  WatchdogReport r{1, 0, 7, 9, 0, 1, 500'000'000};
  EXPECT_EQ(watchdog_message(plan, r), "watchdog: block 0 task 7 waited 0.5 s on counter 9 (value 0, needs 1)");
}

}  // namespace
}  // namespace tessera::cuda

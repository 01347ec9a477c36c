// The soundness oracle on plans whose verdict is known: lowered plans are safe; hand-made
// breaks of each kind are flagged with the right problem; hostile structure is "malformed",
// never a crash; tiny plans are explored exhaustively.
#include <gtest/gtest.h>

#include "model/shapes.h"
#include "plan/footprint.h"
#include "plan/lower.h"
#include "soundness/mutations.h"
#include "soundness/oracle.h"
#include "soundness/random_plans.h"
#include "soundness/suite.h"

namespace tessera::soundness {
namespace {

// Attention in tasks of its own: the cases below plant their bugs around them.
Plan tiny_plan(int sms = 4) {
  LowerConfig k;
  k.sms = sms;
  k.fold_attention = "off";
  return lower(shape_config("tiny"), target_preset("sm_90a"), k, 16, "tiny");
}

int32_t first_task(const Plan& p, Op op) {
  for (const Task& t : p.tasks)
    if (t.op == op) return t.id;
  return -1;
}

TEST(SoundnessOracle, LoweredPlansAreSafe) {
  for (const auto& [label, plan] : base_plans()) {
    const OracleVerdict v = judge_plan(plan);
    EXPECT_FALSE(v.unsafe) << label << ": " << v.problem << ": " << v.detail;
    EXPECT_GT(v.executions, 0u);
  }
}

TEST(SoundnessOracle, RaisedThresholdDeadlocks) {
  Plan p = tiny_plan();
  Task& t = p.tasks[size_t(first_task(p, Op::AttnPartial))];
  t.waits[0].threshold = per_step_totals(p)[size_t(t.waits[0].counter)] + 1;
  const OracleVerdict v = judge_plan(p);
  EXPECT_TRUE(v.unsafe);
  EXPECT_EQ(v.problem, "deadlock") << v.detail;
}

TEST(SoundnessOracle, MissingWaitIsARaceOrUninitialisedRead) {
  Plan p = tiny_plan();
  // The o-projection tiles read all of attn.0; drop the wait of one that shares no block
  // with the attention tasks' writers.
  const int32_t o = first_task(p, Op::AttnPartial) + 2;
  ASSERT_EQ(p.tasks[size_t(o)].op, Op::NormMatvec);
  p.tasks[size_t(o)].waits.clear();
  const OracleVerdict v = judge_plan(p);
  EXPECT_TRUE(v.unsafe);
  EXPECT_TRUE(v.problem == "race" || v.problem == "uninitialized") << v.problem << ": " << v.detail;
}

TEST(SoundnessOracle, ShrunkProducerLeavesUnwrittenData) {
  Plan p = tiny_plan();
  Task& e = p.tasks[size_t(first_task(p, Op::Embed))];
  e.p.row_end -= 1;
  refresh_regions(p, e.id);
  const OracleVerdict v = judge_plan(p);
  EXPECT_TRUE(v.unsafe);
  EXPECT_EQ(v.problem, "uninitialized") << v.detail;
}

TEST(SoundnessOracle, DroppedLmTileLeavesOutputUnwritten) {
  Plan p = tiny_plan();
  const int32_t argmax = first_task(p, Op::ArgmaxReduce);
  // Drop the argmax: next_token is never written, and nothing else is wrong.
  remove_task(p, argmax);
  const OracleVerdict v = judge_plan(p);
  EXPECT_TRUE(v.unsafe);
  EXPECT_EQ(v.problem, "output") << v.detail;
}

TEST(SoundnessOracle, TooFewResidentBlocksDeadlock) {
  Plan p = tiny_plan();
  p.target.sms = 2;
  const OracleVerdict v = judge_plan(p);
  EXPECT_TRUE(v.unsafe);
  EXPECT_EQ(v.problem, "deadlock") << v.detail;
}

TEST(SoundnessOracle, HostileStructureIsMalformedNotACrash) {
  const Plan base = tiny_plan();
  auto expect_malformed = [](const Plan& p, const char* what) {
    const OracleVerdict v = judge_plan(p);
    EXPECT_TRUE(v.unsafe) << what;
    EXPECT_EQ(v.problem, "malformed") << what;
  };
  Plan p = base;
  p.tasks[3].waits.push_back({int32_t(p.counters.size()) + 7, 1});
  expect_malformed(p, "wait counter");
  p = base;
  p.tasks[3].signals.push_back({-2, 1});
  expect_malformed(p, "signal counter");
  p = base;
  p.tasks[3].sm = 1000;
  expect_malformed(p, "block");
  p = base;
  p.queues[0].push_back(1 << 30);
  expect_malformed(p, "queue entry");
  p = base;
  p.tasks[3].reads[0].buf = 1 << 30;
  expect_malformed(p, "region buffer");
  p = base;
  p.tasks[3].p.out = -5;
  expect_malformed(p, "operand");
  p = base;
  p.tasks[3].waits[0].threshold = 0;
  expect_malformed(p, "threshold");
  p = base;
  p.outputs.push_back(99999);
  expect_malformed(p, "output id");
  p = base;
  p.context = 0;
  expect_malformed(p, "context");
  p = base;
  p.buffers[3].shape = {0};
  expect_malformed(p, "empty dimension");
  p = base;
  p.tasks[3].writes[0].dims[0].hi.c = int64_t(1) << 62;
  expect_malformed(p, "huge region bound");
}

// A two-producer counter whose consumer waits for only one increment: unsafe in the
// schedules where the consumer runs between the producers, which DFS must find.
TEST(SoundnessOracle, PartialThresholdFoundExhaustively) {
  Plan p;
  for (uint64_t s = 0;; ++s) {
    Rng r(s);
    p = random_scratch_plan(r);
    // Want the untouched kind with two or more LM tiles (the argmax joins them).
    size_t lm = 0;
    for (const Task& t : p.tasks) lm += t.op == Op::LmHeadArgmax;
    if (lm >= 2 && p.queues.size() >= 2 && !judge_plan(p).unsafe) break;
    ASSERT_LT(s, 1000u);
  }
  ASSERT_LE(p.tasks.size(), 12u);
  const OracleVerdict safe = judge_plan(p);
  EXPECT_TRUE(safe.exhaustive);
  Task& am = p.tasks.back();
  ASSERT_EQ(am.op, Op::ArgmaxReduce);
  am.waits[0].threshold = 1;
  OracleOptions o;
  o.interleavings = 0;  // DFS alone
  const OracleVerdict v = judge_plan(p, o);
  EXPECT_TRUE(v.unsafe);
  EXPECT_TRUE(v.problem == "uninitialized" || v.problem == "race") << v.problem;
}

TEST(SoundnessOracle, EveryDeterministicallyUnsafeClassIsFlagged) {
  const Plan base = tiny_plan();
  for (const auto& m : mutation_classes()) {
    if (m.name == "dropped_wait" || m.name == "lowered_threshold" || m.name == "kv_read_before_append" ||
        m.name == "scratch_reuse_war")
      continue;  // may be covered by other orderings; the suite reports their split
    for (uint64_t s = 0; s < 5; ++s) {
      Rng rng(s);
      auto p = m.apply(base, rng);
      ASSERT_TRUE(p) << m.name;
      const OracleVerdict v = judge_plan(*p);
      EXPECT_TRUE(v.unsafe) << m.name << " seed " << s;
    }
  }
}

}  // namespace
}  // namespace tessera::soundness

// summarize_step on hand-made timelines over a lowered and a hand-built plan: stage grouping
// by opcode and counter, order, spans, gaps, block fractions, every task counted once.
#include <gtest/gtest.h>

#include "core/error.h"
#include "emulate/trace_summary.h"
#include "model/shapes.h"
#include "plan/lower.h"

namespace tessera {
namespace {

const StageTime* find(const StepTimeline& t, const std::string& name) {
  for (const auto& s : t.stages)
    if (s.name == name) return &s;
  return nullptr;
}

TEST(TraceSummary, StagesFromALoweredPlanTimeline) {
  Target target = target_preset("sm_90a");
  target.sms = 8;
  LowerConfig knobs;
  knobs.sms = 8;
  const Plan plan = lower(shape_config("tiny"), target, knobs, 64, "tiny");
  // A synthetic timeline: task i ready at 10*i us, running 5 us, after waiting 2 us.
  std::vector<TraceRecorder::Event> ev;
  for (const Task& t : plan.tasks) ev.push_back({t.id, 0, 0, 10.0 * t.id + 2, 10.0 * t.id + 7, 2});
  const StepTimeline tl = summarize_step(plan, ev);
  EXPECT_DOUBLE_EQ(tl.span_us, 10.0 * double(plan.tasks.size() - 1) + 7);
  int counted = 0;
  for (size_t i = 0; i < tl.stages.size(); ++i) {
    counted += tl.stages[i].tasks;
    EXPECT_DOUBLE_EQ(tl.stages[i].median_run_us, 5);
    if (i > 0) {
      EXPECT_GE(tl.stages[i].start_us, tl.stages[i - 1].start_us) << "stages are listed in order of start";
      EXPECT_DOUBLE_EQ(tl.stages[i].gap_us, tl.stages[i].start_us - tl.stages[i - 1].end_us);
    }
  }
  EXPECT_EQ(counted, int(plan.tasks.size()));
  EXPECT_NE(find(tl, "norm_matvec:l0.qkv"), nullptr) << tl.to_text();
  EXPECT_NE(find(tl, "attn_partial:l0.attn"), nullptr) << tl.to_text();
  const double blocks = double(plan.queues.size());
  EXPECT_NEAR(tl.busy, 5.0 * double(plan.tasks.size()) / (blocks * tl.span_us), 1e-12);
  EXPECT_NEAR(tl.waiting, 2.0 * double(plan.tasks.size()) / (blocks * tl.span_us), 1e-12);
  EXPECT_NE(tl.to_text().find("stages:"), std::string::npos);
}

TEST(TraceSummary, GroupSuffixesMergeIntoOneStage) {
  Plan plan;
  plan.counters = {{0, "l0.qkv.g0"}, {1, "l0.qkv.g1"}, {2, "l0.attn"}};
  plan.queues = {{0, 2}, {1}};
  for (int i = 0; i < 3; ++i) {
    Task t;
    t.id = i;
    t.op = i < 2 ? Op::NormMatvec : Op::AttnPartial;
    t.sm = i == 1 ? 1 : 0;
    t.signals = {{i, 1}};
    plan.tasks.push_back(t);
  }
  const StepTimeline tl = summarize_step(plan, {{0, 0, 0, 1, 4, 1}, {1, 0, 0, 1, 6, 1}, {2, 0, 0, 9, 10, 5}});
  ASSERT_EQ(tl.stages.size(), 2u);
  const StageTime* qkv = find(tl, "norm_matvec:l0.qkv");
  const StageTime* attn = find(tl, "attn_partial:l0.attn");
  ASSERT_TRUE(qkv && attn);
  EXPECT_EQ(qkv->tasks, 2);
  EXPECT_DOUBLE_EQ(qkv->max_run_us, 5);
  EXPECT_DOUBLE_EQ(qkv->end_us, 6);   // times relative to the first turn (0)
  EXPECT_DOUBLE_EQ(attn->gap_us, 3);  // ready at 9, the qkv stage ended at 6
  EXPECT_DOUBLE_EQ(tl.span_us, 10);
}

TEST(TraceSummary, PhaseMarksSplitARunIntoInputBodyAndTail) {
  Plan plan;
  plan.counters = {{0, "l0.qkv"}, {1, "l0.attn"}};
  plan.queues = {{0, 1, 2}};
  for (int i = 0; i < 3; ++i) {
    Task t;
    t.id = i;
    t.op = i < 2 ? Op::NormMatvec : Op::AttnPartial;
    t.signals = {{i < 2 ? 0 : 1, 1}};
    plan.tasks.push_back(t);
  }
  // Task 0: runs 10 us, input after 2, body after 8 -> tail 2. Task 1: runs 6 us, input
  // after 4, no body mark -> body to the end, 2 us, and no tail. Task 2: no marks at all.
  std::vector<TraceRecorder::Event> ev = {{0, 0, 0, 0, 10, 0, 2, 8}, {1, 0, 0, 10, 16, 0, 4, -1},
                                          {2, 0, 0, 16, 20, 0}};
  const StepTimeline tl = summarize_step(plan, ev);
  const StageTime* qkv = find(tl, "norm_matvec:l0.qkv");
  const StageTime* attn = find(tl, "attn_partial:l0.attn");
  ASSERT_TRUE(qkv && attn);
  // Medians of two values take the upper one (as for run times).
  EXPECT_DOUBLE_EQ(qkv->median_input_us, 4);
  EXPECT_DOUBLE_EQ(qkv->median_body_us, 6);
  EXPECT_DOUBLE_EQ(qkv->median_tail_us, 2) << "only task 0 marks its body";
  EXPECT_DOUBLE_EQ(attn->median_input_us, -1);
  EXPECT_DOUBLE_EQ(attn->median_body_us, -1);
  EXPECT_DOUBLE_EQ(attn->median_tail_us, -1);
  const std::string text = tl.to_text();
  EXPECT_NE(text.find("input"), std::string::npos) << text;
  // Without any mark the table keeps its old columns.
  ev[0].input = ev[0].body = ev[1].input = -1;
  EXPECT_EQ(summarize_step(plan, ev).to_text().find("input"), std::string::npos);
}

TEST(TraceSummary, RejectsAnEventOutsideThePlan) {
  Plan plan;
  EXPECT_THROW(summarize_step(plan, {{3, 0, 0, 0, 1, 0}}), Error);
}

}  // namespace
}  // namespace tessera

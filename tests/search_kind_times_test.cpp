// Per-instruction-kind time, the Pareto policy's time axis: the union of a kind's task
// spans (not their sum), the tasks each kind covers (a knob that moves work between kinds
// takes its consumers' time along), the cost model's predicted timeline giving every kind
// a time through the ladder, and the store keeping it (a schema-2 database gains the
// column when opened).
#include <gtest/gtest.h>

#include <sqlite3.h>

#include "core/error.h"
#include "plan/lower.h"
#include "search/instruction_kinds.h"
#include "search/kind_times.h"
#include "search/store.h"
#include "search/tune_loop.h"
#include "search_test_settings.h"
#include "test_util.h"

namespace tessera {
namespace {

Plan tiny_plan(const std::string& knob = "") {
  const EvalSettings s = test::tiny_search_settings();
  LowerConfig c;
  c.fold_attention = "off";
  if (!knob.empty()) c.set(knob);
  return lower(s.model, s.target, c, s.context, "tiny");
}

std::vector<int32_t> tasks_of(const Plan& p, const std::string& kind) {
  std::vector<int32_t> out;
  for (const Task& t : p.tasks)
    if (task_kind(p, t) == kind) out.push_back(t.id);
  return out;
}

TEST(KindTimes, AKindsTimeIsTheUnionOfItsTasksSpans) {
  const Plan p = tiny_plan();
  const auto gu = tasks_of(p, "gate_up"), o = tasks_of(p, "o"), qkv = tasks_of(p, "qkv");
  ASSERT_GE(gu.size(), 3u);
  ASSERT_FALSE(o.empty());
  ASSERT_FALSE(qkv.empty());
  std::vector<TaskSpan> spans;
  // gate/up: [0, 2) and [1, 3) overlap (side by side on two blocks), [5, 6) apart: 4, not 5.
  spans.push_back({gu[0], 0, 2});
  spans.push_back({gu[1], 1, 3});
  spans.push_back({gu[2], 5, 6});
  spans.push_back({o[0], 10, 10.5});
  spans.push_back({qkv[0], 2.5, 4});
  const auto t = kind_times_of(p, spans);
  EXPECT_DOUBLE_EQ(t.at("gate_up"), 4);
  EXPECT_DOUBLE_EQ(t.at("o"), 0.5);
  EXPECT_DOUBLE_EQ(t.at("qkv"), 1.5);
  EXPECT_DOUBLE_EQ(t.at("down"), 0);  // no span: no time
  // Attention covers the o tiles (fold_attention moves it there); the norm covers the
  // prologues it is fused into (q/k/v, gate/up, LM head): [0, 4) and [5, 6).
  EXPECT_DOUBLE_EQ(t.at("attention"), 0.5);
  EXPECT_DOUBLE_EQ(t.at("norm"), 5);
  // The schedule kind covers the step: [0, 4), [5, 6), [10, 10.5).
  EXPECT_DOUBLE_EQ(t.at(kScheduleKind), 5.5);
  EXPECT_EQ(t.size(), instruction_kinds().size());

  EXPECT_THROW(kind_times_of(p, {{int32_t(p.tasks.size()), 0, 1}}), Error);
  try {
    kind_times_of(p, {{gu[0], 2, 1}});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("task " + std::to_string(gu[0])), std::string::npos) << e.what();
  }
}

TEST(KindTimes, StepsSummariseToMediansAndSpreads) {
  std::vector<std::map<std::string, double>> steps = {{{"o", 1.0}, {"qkv", 2.0}}, {{"o", 3.0}, {"qkv", 2.0}},
                                                      {{"o", 2.0}, {"qkv", 2.0}}};
  const KindTimes k = summarize_kind_times(steps);
  EXPECT_DOUBLE_EQ(k.at("o").s, 2.0);
  EXPECT_DOUBLE_EQ(k.at("o").spread, 1.0);  // (3 - 1) / 2
  EXPECT_DOUBLE_EQ(k.at("qkv").spread, 0);
  EXPECT_EQ(kind_times_text(k), "kind times: o 2000000.0 us, qkv 2000000.0 us");
  EXPECT_EQ(kind_times_text({}), "");
  steps[1].erase("qkv");
  EXPECT_THROW(summarize_kind_times(steps), Error);
  EXPECT_THROW(summarize_kind_times({}), Error);

  const KindTimes back = kind_times_from_json(kind_times_to_json(k));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_DOUBLE_EQ(back.at("o").spread, 1.0);
  EXPECT_TRUE(kind_times_from_json(nullptr).empty());
  EXPECT_THROW(kind_times_from_json(nlohmann::json::array()), Error);
  try {
    kind_times_from_json({{"o", {{"spread", 1}}}});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("kind 'o'"), std::string::npos) << e.what();
  }
}

TEST(KindTimes, TheLadderPredictsEveryKindsTime) {
  const EvalSettings s = test::tiny_search_settings();
  KnobSpace space(s.model, s.target, s.context);
  auto eval = [&](const std::vector<std::string>& knobs) {
    LowerConfig c;
    c.fold_attention = "off";
    for (const std::string& k : knobs) c.set(k);
    Proposal p;
    p.knobs = space.from_config(c);
    EvalSettings e = s;
    e.emulate = false;
    Evaluation ev = evaluate_candidate(p, space, e, 1);
    EXPECT_EQ(ev.status, CandidateStatus::Ok) << ev.log;
    return ev;
  };
  const Evaluation def = eval({});
  ASSERT_EQ(def.kinds.size(), instruction_kinds().size());
  for (const auto& [kind, t] : def.kinds) {
    EXPECT_GT(t.s, 0) << kind;
    EXPECT_EQ(t.spread, 0) << kind << ": a prediction has no spread";
    EXPECT_LE(t.s, def.cost_s * (1 + 1e-12)) << kind << ": a kind runs within the step";
  }
  // The step's kind is the union of every task's span; waits leave gaps in it.
  EXPECT_GT(def.kinds.at(kScheduleKind).s, 0.5 * def.cost_s);
  // Unfused norms add tasks of their own, which the norm kind's time includes.
  const Evaluation unfused = eval({"fuse_norm=false"});
  EXPECT_GT(unfused.kinds.at("norm").s, def.kinds.at("norm").s);
  // Smaller gate/up tiles: more tasks, each paying the fixed cost, on the same blocks.
  const Evaluation small = eval({"gate_up_rows_per_task=16", "sms=8"});
  const Evaluation large = eval({"gate_up_rows_per_task=128", "sms=8"});
  EXPECT_NE(small.kinds.at("gate_up").s, large.kinds.at("gate_up").s);
  // The tree and the store carry them.
  const TreeNode n = tree_node(3, Proposal{}, def);
  EXPECT_EQ(n.kinds.size(), def.kinds.size());
}

TEST(KindTimes, TheStoreKeepsThemAndASchemaTwoDatabaseGainsTheColumn) {
  test::TempDir tmp;
  const std::string db = tmp.file("k.db");
  {
    TuneStore s(db, true);
    RunRecord r;
    r.target = "sm_90a";
    r.model = "tiny";
    r.policy = "pareto";
    const int64_t run = s.create_run(r);
    CandidateRecord c;
    c.run = run;
    c.op = "seed";
    const int64_t id = s.add_candidate(c);
    Evaluation ev;
    ev.status = CandidateStatus::Ok;
    ev.cost_kind = CostKind::Measured;
    ev.cost_s = 1e-3;
    ev.kinds = {{"o", {2e-4, 0.01}}, {kScheduleKind, {9e-4, 0.02}}};
    s.finish_candidate(verdict_row(id, ev, s));
    const TreeNode n = tree_node_of(*s.candidate(id));
    ASSERT_EQ(n.kinds.size(), 2u);
    EXPECT_DOUBLE_EQ(n.kinds.at("o").s, 2e-4);
    EXPECT_DOUBLE_EQ(n.kinds.at("o").spread, 0.01);
    c.op = "mutate";
    s.add_candidate(c);  // pending: no kind times yet
  }
  {  // make it what a build before schema 3 wrote
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, "ALTER TABLE candidates DROP COLUMN kind_times; "
                              "UPDATE tessera_meta SET value = '2' WHERE key = 'schema_version'",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(h);
  }
  TuneStore s(db, false);
  const auto rows = s.candidates(-1);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(kind_times_from_json(rows[0].kind_times).empty()) << "an old row has none";
  EXPECT_EQ(rows[0].cost_s, 1e-3);
  Evaluation ev;
  ev.status = CandidateStatus::Ok;
  ev.cost_kind = CostKind::Predicted;
  ev.kinds = {{"qkv", {1e-4, 0}}};
  s.finish_candidate(verdict_row(2, ev, s));
  EXPECT_EQ(kind_times_from_json(s.candidate(2)->kind_times).at("qkv").s, 1e-4);
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(h, "SELECT value FROM tessera_meta WHERE key = 'schema_version'", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "3");
  sqlite3_finalize(st);
  sqlite3_close(h);
}

}  // namespace
}  // namespace tessera

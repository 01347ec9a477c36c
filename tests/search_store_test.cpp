// The tuning database: rows round-trip exactly, bad files get errors naming them, and a
// `tessera tune` killed with SIGKILL mid-run loses no committed candidate and resumes with
// the next ids.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <sqlite3.h>

#include "core/error.h"
#include "search/store.h"
#include "test_util.h"

extern char** environ;

namespace tessera {
namespace {

using test::error_of;

TEST(SearchStore, RoundTripsRunsCandidatesPlansAndCalibration) {
  test::TempDir tmp;
  const std::string path = tmp.file("nested/dir/t.db");
  int64_t run = 0, a = 0, b = 0;
  {
    TuneStore s(path, true);
    RunRecord r;
    r.target = "sm_90a";
    r.model = "tiny";
    r.policy = "stark";
    r.seed = 42;
    r.budget_minutes = 1.5;
    r.budget_candidates = 7;
    r.settings = {{"position", 1}};
    run = s.create_run(r);
    CandidateRecord c;
    c.run = run;
    c.op = "seed";
    c.knobs = {{"kv_splits", 2}};
    c.check_seed = 99;
    a = s.add_candidate(c);
    c.parent = a;
    c.op = "mutate";
    c.op_params = {{"changed", {{"kv_splits", "4"}}}};
    b = s.add_candidate(c);
    CandidateRecord done = *s.candidate(b);
    done.status = CandidateStatus::Ok;
    done.cost_s = 1.25e-3;
    done.spread = 0.02;
    done.cost_kind = CostKind::Measured;
    done.plan_hash = content_hash("{plan}");
    done.log = "measured";
    const std::string plan = "{plan}";
    s.finish_candidate(done, &plan);
    CalibrationRecord cal;
    cal.target = "sm_90a";
    cal.plan_hash = done.plan_hash;
    cal.position = 1;
    cal.measured_s = 1.7e-3;
    cal.features = {{"path_bytes", 10}, {"path_tasks", 2}, {"path_waits", 1}};
    s.add_calibration(cal);
  }
  TuneStore s(path, false);
  auto runs = s.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].seed, 42u);
  EXPECT_EQ(runs[0].budget_candidates, 7);
  EXPECT_DOUBLE_EQ(runs[0].budget_minutes, 1.5);
  EXPECT_EQ(runs[0].settings["position"], 1);
  auto cs = s.candidates(run);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].id, a);
  EXPECT_EQ(cs[0].parent, -1);
  EXPECT_EQ(cs[0].status, CandidateStatus::Pending);
  EXPECT_EQ(cs[0].cost_kind, CostKind::None);
  EXPECT_EQ(cs[0].check_seed, 99u);
  EXPECT_EQ(cs[1].parent, a);
  EXPECT_EQ(cs[1].op_params["changed"]["kv_splits"], "4");
  EXPECT_EQ(cs[1].status, CandidateStatus::Ok);
  EXPECT_EQ(cs[1].cost_kind, CostKind::Measured);
  EXPECT_DOUBLE_EQ(cs[1].cost_s, 1.25e-3);
  EXPECT_DOUBLE_EQ(cs[1].spread, 0.02);
  EXPECT_FALSE(cs[1].finished_utc.empty());
  EXPECT_EQ(s.plan_json(cs[1].plan_hash).value_or(""), "{plan}");
  auto cal = s.calibration("sm_90a");
  ASSERT_EQ(cal.size(), 1u);
  EXPECT_EQ(cal[0].features["path_waits"], 1);
  EXPECT_TRUE(s.calibration("sm_80").empty());
  // WAL mode is on (the crash-safety the tuner relies on).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(SearchStore, BadFilesGetErrorsNamingThem) {
  test::TempDir tmp;
  EXPECT_NE(error_of([&] { TuneStore s(tmp.file("none.db"), false); }).find("none.db' does not exist"), std::string::npos);
  {
    std::ofstream(tmp.file("junk.db")) << std::string(4096, 'x');
  }
  std::string e = error_of([&] { TuneStore s(tmp.file("junk.db"), false); });
  EXPECT_NE(e.find("junk.db"), std::string::npos) << e;
  EXPECT_NE(e.find("not a database"), std::string::npos) << e;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(tmp.file("other.db").c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "CREATE TABLE photos(id INTEGER)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  e = error_of([&] { TuneStore s(tmp.file("other.db"), true); });
  EXPECT_NE(e.find("of something else"), std::string::npos) << e;
  {
    TuneStore s(tmp.file("new.db"), true);
  }
  ASSERT_EQ(sqlite3_open(tmp.file("new.db").c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "UPDATE tessera_meta SET value = '99' WHERE key = 'schema_version'", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  e = error_of([&] { TuneStore s(tmp.file("new.db"), false); });
  EXPECT_NE(e.find("schema version 99, newer"), std::string::npos) << e;
  TuneStore ok(tmp.file("fine.db"), true);
  EXPECT_NE(error_of([&] { ok.run(5); }).find("no run 5"), std::string::npos);
}

TEST(SearchStore, KilledTunerLosesNothingAndResumes) {
  test::TempDir tmp;
  const std::string db = tmp.file("t.db");
  // The root on 8 blocks keeps the first candidates quick to emulate.
  std::vector<std::string> args = {TESSERA_BINARY, "tune", "--shape", "tiny", "--db", db, "--budget-candidates", "100000", "--seed", "3",
          "--start-knob", "sms=8"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, tmp.file("err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  // Wait for a few finished candidates, then kill it mid-run.
  std::vector<CandidateRecord> before;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!std::filesystem::exists(db)) continue;
    try {
      TuneStore s(db, false);
      before = s.candidates(-1);
    } catch (const Error&) {
      continue;  // the schema is still being created
    }
    int finished = 0;
    for (const auto& c : before) finished += c.status != CandidateStatus::Pending;
    if (finished >= 4) break;
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the tuner ended before it was killed:\n" << test::slurp(tmp.file("err"));
  ASSERT_GE(before.size(), 4u) << test::slurp(tmp.file("err"));

  TuneStore s(db, false);
  auto after = s.candidates(-1);
  ASSERT_GE(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i].id, before[i].id);
    EXPECT_EQ(after[i].parent, before[i].parent);
    EXPECT_EQ(after[i].knobs, before[i].knobs);
    if (before[i].status != CandidateStatus::Pending) {
      EXPECT_EQ(after[i].status, before[i].status);
      EXPECT_EQ(after[i].cost_s, before[i].cost_s);
      EXPECT_EQ(after[i].plan_hash, before[i].plan_hash);
    }
  }
  const int64_t had = int64_t(after.size());
  const int64_t last_id = after.back().id;
  test::RunResult r = test::run_tessera("tune --db " + db + " --resume --budget-candidates " + std::to_string(had + 3));
  ASSERT_EQ(r.rc, 0) << r.err;
  auto resumed = s.candidates(-1);
  ASSERT_EQ(int64_t(resumed.size()), had + 3) << r.out;
  EXPECT_EQ(s.runs().size(), 1u);  // continued, not a new run
  for (size_t i = 0; i < resumed.size(); ++i) {
    EXPECT_EQ(resumed[i].id, resumed[0].id + int64_t(i));  // ids continue without gaps
    EXPECT_NE(resumed[i].status, CandidateStatus::Pending);  // the interrupted one was finished
  }
  EXPECT_EQ(resumed.back().id, last_id + 3);
}

}  // namespace
}  // namespace tessera

// SQLite through its C API with one small statement wrapper: the store needs a dozen
// statements, not an ORM. JSON columns are stored as text (nlohmann dumps them) so the
// database stays readable with the sqlite3 shell. synchronous=FULL rather than NORMAL:
// a candidate costs seconds to evaluate, an fsync per commit is free next to that, and
// FULL also keeps committed rows through a power loss, not only a killed process.
#include "search/store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"

namespace tessera {

namespace {

const char* const kSchema = R"sql(
CREATE TABLE IF NOT EXISTS tessera_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY, target TEXT NOT NULL, model TEXT NOT NULL, policy TEXT NOT NULL,
  seed INTEGER NOT NULL, budget_minutes REAL NOT NULL, budget_candidates INTEGER NOT NULL,
  started_utc TEXT NOT NULL, settings TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plans (hash TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS candidates (
  id INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs(id), parent INTEGER,
  operator TEXT NOT NULL, operator_params TEXT NOT NULL, knobs TEXT, plan_hash TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending','rejected','incorrect','build_failed','run_failed','ok')),
  cost_s REAL, spread REAL, cost_kind TEXT CHECK (cost_kind IN ('measured','predicted') OR cost_kind IS NULL),
  log TEXT NOT NULL, check_seed INTEGER NOT NULL, created_utc TEXT NOT NULL, finished_utc TEXT);
CREATE INDEX IF NOT EXISTS candidates_by_run ON candidates(run, id);
CREATE TABLE IF NOT EXISTS calibration (
  id INTEGER PRIMARY KEY, target TEXT NOT NULL, plan_hash TEXT NOT NULL, position INTEGER NOT NULL,
  measured_s REAL NOT NULL, spread REAL NOT NULL, features TEXT NOT NULL, created_utc TEXT NOT NULL);
)sql";

// Version 2: the LLM calls of the agents (docs/AGENTS.md). Added to a version-1 database
// when it is opened; nothing else changes, so older rows read as before.
const char* const kSchemaV2 = R"sql(
CREATE TABLE IF NOT EXISTS transcripts (
  id INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs(id), candidate INTEGER REFERENCES candidates(id),
  role TEXT NOT NULL, ok INTEGER NOT NULL, error TEXT NOT NULL, tokens_in INTEGER NOT NULL,
  tokens_out INTEGER NOT NULL, usage_reported INTEGER NOT NULL, latency_s REAL NOT NULL,
  transcript TEXT NOT NULL, created_utc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS transcripts_by_candidate ON transcripts(candidate, id);
CREATE INDEX IF NOT EXISTS transcripts_by_run ON transcripts(run, id);
)sql";

// Version 3: every candidate's time per instruction kind (search/kind_times.h). Added to
// an older database when it is opened; its candidates read with none.
const char* const kSchemaV3 = R"sql(
ALTER TABLE candidates ADD COLUMN kind_times TEXT NOT NULL DEFAULT '{}';
)sql";

// A prepared statement bound by position; finalised on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql, const std::string& where) : db_(db), where_(where) {
    if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK)
      fail("{}: {}", where_, sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt& bind(int i, int64_t v) { return check(sqlite3_bind_int64(st_, i, v)); }
  Stmt& bind(int i, double v) { return check(sqlite3_bind_double(st_, i, v)); }
  Stmt& bind(int i, const std::string& v) {
    return check(sqlite3_bind_text(st_, i, v.data(), int(v.size()), SQLITE_TRANSIENT));
  }
  Stmt& bind_null(int i) { return check(sqlite3_bind_null(st_, i)); }
  bool step() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail("{}: {}", where_, sqlite3_errmsg(db_));
  }
  int64_t i64(int c) const { return sqlite3_column_int64(st_, c); }
  double f64(int c) const { return sqlite3_column_double(st_, c); }
  bool null(int c) const { return sqlite3_column_type(st_, c) == SQLITE_NULL; }
  std::string text(int c) const {
    const unsigned char* p = sqlite3_column_text(st_, c);
    return p ? std::string(reinterpret_cast<const char*>(p), size_t(sqlite3_column_bytes(st_, c))) : std::string();
  }

 private:
  Stmt& check(int rc) {
    if (rc != SQLITE_OK) fail("{}: {}", where_, sqlite3_errmsg(db_));
    return *this;
  }
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  std::string where_;
};

// BEGIN IMMEDIATE .. COMMIT; rolled back when the scope is left by an exception.
class Transaction {
 public:
  Transaction(sqlite3* db, const std::string& where) : db_(db), where_(where) { run("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    run("COMMIT");
    done_ = true;
  }

 private:
  void run(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      fail("{}: {}", where_, msg);
    }
  }
  sqlite3* db_;
  std::string where_;
  bool done_ = false;
};

nlohmann::json parse_json_column(const std::string& text, const std::string& where) {
  if (text.empty()) return nullptr;
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: a JSON column does not parse ({})", where, e.what());
  }
}

CandidateRecord read_candidate(const Stmt& s, const std::string& where) {
  CandidateRecord c;
  c.id = s.i64(0);
  c.run = s.i64(1);
  c.parent = s.null(2) ? -1 : s.i64(2);
  c.op = s.text(3);
  c.op_params = parse_json_column(s.text(4), where);
  c.knobs = s.null(5) ? nlohmann::json() : parse_json_column(s.text(5), where);
  c.plan_hash = s.text(6);
  c.status = parse_status(s.text(7));
  c.cost_s = s.null(8) ? 0 : s.f64(8);
  c.spread = s.null(9) ? 0 : s.f64(9);
  c.cost_kind = s.null(10) ? CostKind::None : parse_cost_kind(s.text(10));
  c.log = s.text(11);
  c.check_seed = uint64_t(s.i64(12));
  c.created_utc = s.text(13);
  c.finished_utc = s.text(14);
  c.kind_times = parse_json_column(s.text(15), where);
  return c;
}

const char* const kCandidateColumns =
    "id, run, parent, operator, operator_params, knobs, plan_hash, status, cost_s, spread, cost_kind, log, "
    "check_seed, created_utc, finished_utc, kind_times";

}  // namespace

std::string status_name(CandidateStatus s) {
  switch (s) {
    case CandidateStatus::Pending: return "pending";
    case CandidateStatus::Rejected: return "rejected";
    case CandidateStatus::Incorrect: return "incorrect";
    case CandidateStatus::BuildFailed: return "build_failed";
    case CandidateStatus::RunFailed: return "run_failed";
    case CandidateStatus::Ok: return "ok";
  }
  return "?";
}

CandidateStatus parse_status(const std::string& s) {
  for (auto v : {CandidateStatus::Pending, CandidateStatus::Rejected, CandidateStatus::Incorrect,
                 CandidateStatus::BuildFailed, CandidateStatus::RunFailed, CandidateStatus::Ok})
    if (status_name(v) == s) return v;
  fail("unknown candidate status '{}'", s);
}

std::string cost_kind_name(CostKind k) {
  return k == CostKind::Measured ? "measured" : k == CostKind::Predicted ? "predicted" : "";
}

CostKind parse_cost_kind(const std::string& s) {
  if (s == "measured") return CostKind::Measured;
  if (s == "predicted") return CostKind::Predicted;
  if (s.empty()) return CostKind::None;
  fail("unknown cost kind '{}'", s);
}

std::string content_hash(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

std::string utc_now_iso() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

TuneStore::TuneStore(const std::string& path, bool create) : path_(path) {
  namespace fs = std::filesystem;
  if (!create && !fs::exists(path)) fail("tuning database '{}' does not exist (start a run without --resume)", path);
  if (create) {
    fs::path dir = fs::path(path).parent_path();
    std::error_code ec;
    if (!dir.empty()) fs::create_directories(dir, ec);
    if (ec) fail("tuning database '{}': cannot create directory '{}': {}", path, dir.string(), ec.message());
  }
  int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    fail("tuning database '{}': cannot open: {}", path, msg);
  }
  try {
    sqlite3_busy_timeout(db_, 10000);
    // The first statement that reads the file tells a non-database apart ("file is not a
    // database"); name the path so the user knows which file.
    std::vector<std::string> tables;
    {
      Stmt s(db_, "SELECT name FROM sqlite_master WHERE type = 'table'", "tuning database '" + path + "'");
      while (s.step()) tables.push_back(s.text(0));
    }
    bool ours = std::find(tables.begin(), tables.end(), "tessera_meta") != tables.end();
    if (!tables.empty() && !ours)
      fail("tuning database '{}' is an SQLite database of something else (no tessera_meta table)", path);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA foreign_keys=ON");
    if (!ours) {
      Transaction tx(db_, "tuning database '" + path + "'");
      exec(kSchema);
      exec(kSchemaV2);
      exec(kSchemaV3);
      Stmt s(db_, "INSERT INTO tessera_meta(key, value) VALUES ('schema_version', ?1), ('app', 'tessera-tune')",
             "tuning database '" + path + "'");
      s.bind(1, std::to_string(kTuneStoreSchema)).step();
      tx.commit();
    } else {
      Stmt s(db_, "SELECT value FROM tessera_meta WHERE key = 'schema_version'", "tuning database '" + path + "'");
      if (!s.step()) fail("tuning database '{}' has no schema_version row", path);
      int v = std::atoi(s.text(0).c_str());
      if (v > kTuneStoreSchema)
        fail("tuning database '{}' has schema version {}, newer than this build's {}", path, v, kTuneStoreSchema);
      if (v < 1) fail("tuning database '{}' has an invalid schema version '{}'", path, s.text(0));
      if (v < 2) {
        Transaction tx(db_, "tuning database '" + path + "': adding the transcripts table (schema 2)");
        exec(kSchemaV2);
        exec("UPDATE tessera_meta SET value = '2' WHERE key = 'schema_version'");
        tx.commit();
      }
      if (v < 3) {
        Transaction tx(db_, "tuning database '" + path + "': adding the candidates' kind times (schema 3)");
        exec(kSchemaV3);
        exec("UPDATE tessera_meta SET value = '3' WHERE key = 'schema_version'");
        tx.commit();
      }
    }
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

TuneStore::~TuneStore() { sqlite3_close(db_); }

void TuneStore::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    fail("tuning database '{}': {}", path_, msg);
  }
}

int64_t TuneStore::create_run(const RunRecord& r) {
  const std::string where = "tuning database '" + path_ + "': recording a run";
  Transaction tx(db_, where);
  Stmt s(db_,
         "INSERT INTO runs(target, model, policy, seed, budget_minutes, budget_candidates, started_utc, settings) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
         where);
  s.bind(1, r.target).bind(2, r.model).bind(3, r.policy).bind(4, int64_t(r.seed)).bind(5, r.budget_minutes)
      .bind(6, r.budget_candidates).bind(7, r.started_utc.empty() ? utc_now_iso() : r.started_utc)
      .bind(8, r.settings.dump());
  s.step();
  int64_t id = sqlite3_last_insert_rowid(db_);
  tx.commit();
  return id;
}

std::vector<RunRecord> TuneStore::runs() const {
  const std::string where = "tuning database '" + path_ + "': reading runs";
  Stmt s(db_,
         "SELECT id, target, model, policy, seed, budget_minutes, budget_candidates, started_utc, settings "
         "FROM runs ORDER BY id",
         where);
  std::vector<RunRecord> out;
  while (s.step()) {
    RunRecord r;
    r.id = s.i64(0);
    r.target = s.text(1);
    r.model = s.text(2);
    r.policy = s.text(3);
    r.seed = uint64_t(s.i64(4));
    r.budget_minutes = s.f64(5);
    r.budget_candidates = s.i64(6);
    r.started_utc = s.text(7);
    r.settings = parse_json_column(s.text(8), where);
    out.push_back(std::move(r));
  }
  return out;
}

RunRecord TuneStore::run(int64_t id) const {
  for (RunRecord& r : runs())
    if (r.id == id) return r;
  fail("tuning database '{}' has no run {}", path_, id);
}

int64_t TuneStore::add_candidate(const CandidateRecord& c) {
  const std::string where = "tuning database '" + path_ + "': recording a candidate";
  Transaction tx(db_, where);
  Stmt s(db_,
         "INSERT INTO candidates(run, parent, operator, operator_params, knobs, plan_hash, status, cost_s, spread, "
         "cost_kind, log, check_seed, created_utc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
         where);
  s.bind(1, c.run);
  if (c.parent >= 0) s.bind(2, c.parent); else s.bind_null(2);
  s.bind(3, c.op).bind(4, c.op_params.dump());
  if (c.knobs.is_null()) s.bind_null(5); else s.bind(5, c.knobs.dump());
  s.bind(6, c.plan_hash).bind(7, status_name(c.status));
  if (c.cost_kind == CostKind::None) {
    s.bind_null(8).bind_null(9).bind_null(10);
  } else {
    s.bind(8, c.cost_s).bind(9, c.spread).bind(10, cost_kind_name(c.cost_kind));
  }
  s.bind(11, c.log).bind(12, int64_t(c.check_seed)).bind(13, c.created_utc.empty() ? utc_now_iso() : c.created_utc);
  s.step();
  int64_t id = sqlite3_last_insert_rowid(db_);
  tx.commit();
  return id;
}

void TuneStore::finish_candidate(const CandidateRecord& c, const std::string* plan_json) {
  const std::string where = fmt::format("tuning database '{}': recording candidate {}", path_, c.id);
  Transaction tx(db_, where);
  if (plan_json) {
    Stmt p(db_, "INSERT OR IGNORE INTO plans(hash, json) VALUES (?1, ?2)", where);
    p.bind(1, c.plan_hash).bind(2, *plan_json).step();
  }
  Stmt s(db_,
         "UPDATE candidates SET plan_hash = ?2, status = ?3, cost_s = ?4, spread = ?5, cost_kind = ?6, log = ?7, "
         "check_seed = ?8, finished_utc = ?9, kind_times = ?10 WHERE id = ?1",
         where);
  s.bind(1, c.id).bind(2, c.plan_hash).bind(3, status_name(c.status));
  if (c.cost_kind == CostKind::None) {
    s.bind_null(4).bind_null(5).bind_null(6);
  } else {
    s.bind(4, c.cost_s).bind(5, c.spread).bind(6, cost_kind_name(c.cost_kind));
  }
  s.bind(7, c.log).bind(8, int64_t(c.check_seed)).bind(9, c.finished_utc.empty() ? utc_now_iso() : c.finished_utc);
  s.bind(10, (c.kind_times.is_null() ? nlohmann::json::object() : c.kind_times).dump());
  s.step();
  if (sqlite3_changes(db_) != 1) fail("{}: no such candidate", where);
  tx.commit();
}

std::vector<CandidateRecord> TuneStore::candidates(int64_t run) const {
  const std::string where = "tuning database '" + path_ + "': reading candidates";
  std::string sql = fmt::format("SELECT {} FROM candidates {} ORDER BY id", kCandidateColumns,
                                run >= 0 ? "WHERE run = ?1" : "");
  Stmt s(db_, sql.c_str(), where);
  if (run >= 0) s.bind(1, run);
  std::vector<CandidateRecord> out;
  while (s.step()) out.push_back(read_candidate(s, where));
  return out;
}

std::optional<CandidateRecord> TuneStore::candidate(int64_t id) const {
  const std::string where = "tuning database '" + path_ + "': reading a candidate";
  std::string sql = fmt::format("SELECT {} FROM candidates WHERE id = ?1", kCandidateColumns);
  Stmt s(db_, sql.c_str(), where);
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_candidate(s, where);
}

std::optional<std::string> TuneStore::plan_json(const std::string& hash) const {
  Stmt s(db_, "SELECT json FROM plans WHERE hash = ?1", "tuning database '" + path_ + "': reading a plan");
  s.bind(1, hash);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

void TuneStore::add_plan(const std::string& hash, const std::string& plan_json) {
  const std::string where = "tuning database '" + path_ + "': recording a plan";
  Transaction tx(db_, where);
  Stmt p(db_, "INSERT OR IGNORE INTO plans(hash, json) VALUES (?1, ?2)", where);
  p.bind(1, hash).bind(2, plan_json).step();
  tx.commit();
}

int64_t TuneStore::add_transcript(const TranscriptRecord& t) {
  const std::string where = "tuning database '" + path_ + "': recording an LLM transcript";
  Transaction tx(db_, where);
  Stmt s(db_,
         "INSERT INTO transcripts(run, candidate, role, ok, error, tokens_in, tokens_out, usage_reported, latency_s, "
         "transcript, created_utc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
         where);
  s.bind(1, t.run);
  if (t.candidate >= 0) s.bind(2, t.candidate); else s.bind_null(2);
  s.bind(3, t.role).bind(4, int64_t(t.ok)).bind(5, t.error).bind(6, t.tokens_in).bind(7, t.tokens_out)
      .bind(8, int64_t(t.usage_reported)).bind(9, t.latency_s)
      .bind(10, t.transcript.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
      .bind(11, t.created_utc.empty() ? utc_now_iso() : t.created_utc);
  s.step();
  int64_t id = sqlite3_last_insert_rowid(db_);
  tx.commit();
  return id;
}

void TuneStore::link_transcripts(const std::vector<int64_t>& ids, int64_t candidate) {
  if (ids.empty()) return;
  const std::string where = fmt::format("tuning database '{}': linking transcripts to candidate {}", path_, candidate);
  Transaction tx(db_, where);
  for (int64_t id : ids) {
    Stmt s(db_, "UPDATE transcripts SET candidate = ?2 WHERE id = ?1", where);
    s.bind(1, id).bind(2, candidate).step();
    if (sqlite3_changes(db_) != 1) fail("{}: no transcript {}", where, id);
  }
  tx.commit();
}

std::vector<TranscriptRecord> TuneStore::transcripts(int64_t run, int64_t candidate) const {
  const std::string where = "tuning database '" + path_ + "': reading transcripts";
  const char* sql = candidate >= 0
                        ? "SELECT id, run, candidate, role, ok, error, tokens_in, tokens_out, usage_reported, latency_s, "
                          "transcript, created_utc FROM transcripts WHERE candidate = ?1 ORDER BY id"
                        : "SELECT id, run, candidate, role, ok, error, tokens_in, tokens_out, usage_reported, latency_s, "
                          "transcript, created_utc FROM transcripts WHERE run = ?1 ORDER BY id";
  Stmt s(db_, sql, where);
  s.bind(1, candidate >= 0 ? candidate : run);
  std::vector<TranscriptRecord> out;
  while (s.step()) {
    TranscriptRecord t;
    t.id = s.i64(0);
    t.run = s.i64(1);
    t.candidate = s.null(2) ? -1 : s.i64(2);
    t.role = s.text(3);
    t.ok = s.i64(4) != 0;
    t.error = s.text(5);
    t.tokens_in = s.i64(6);
    t.tokens_out = s.i64(7);
    t.usage_reported = s.i64(8) != 0;
    t.latency_s = s.f64(9);
    t.transcript = parse_json_column(s.text(10), where);
    t.created_utc = s.text(11);
    out.push_back(std::move(t));
  }
  return out;
}

int64_t TuneStore::add_calibration(const CalibrationRecord& r) {
  const std::string where = "tuning database '" + path_ + "': recording a calibration point";
  if (!(r.measured_s > 0)) fail("{}: measured time {} s must be positive", where, r.measured_s);
  Transaction tx(db_, where);
  Stmt s(db_,
         "INSERT INTO calibration(target, plan_hash, position, measured_s, spread, features, created_utc) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
         where);
  s.bind(1, r.target).bind(2, r.plan_hash).bind(3, r.position).bind(4, r.measured_s).bind(5, r.spread)
      .bind(6, r.features.dump()).bind(7, r.created_utc.empty() ? utc_now_iso() : r.created_utc);
  s.step();
  int64_t id = sqlite3_last_insert_rowid(db_);
  tx.commit();
  return id;
}

std::vector<CalibrationRecord> TuneStore::calibration(const std::string& target) const {
  const std::string where = "tuning database '" + path_ + "': reading calibration";
  Stmt s(db_,
         "SELECT id, target, plan_hash, position, measured_s, spread, features, created_utc FROM calibration "
         "WHERE target = ?1 ORDER BY id",
         where);
  s.bind(1, target);
  std::vector<CalibrationRecord> out;
  while (s.step()) {
    CalibrationRecord r;
    r.id = s.i64(0);
    r.target = s.text(1);
    r.plan_hash = s.text(2);
    r.position = s.i64(3);
    r.measured_s = s.f64(4);
    r.spread = s.f64(5);
    r.features = parse_json_column(s.text(6), where);
    r.created_utc = s.text(7);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace tessera

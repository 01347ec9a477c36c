// The search's memory: one SQLite database per tuning target holding every run, every
// candidate (its lineage, operator, knobs or plan, verdict, cost and logs) and the GPU
// measurements that calibrate the cost model. SQLite because a tuner that runs for hours
// unattended must survive `kill -9`: the database is in WAL mode with synchronous=FULL and
// every write is one transaction, so a candidate is either wholly recorded or absent.
//
// Costs carry their kind (`measured` or `predicted`) in every row; nothing reads a cost
// without its kind, so the two can never be mixed up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct sqlite3;

namespace tessera {

// 1: runs, candidates, plans, calibration. 2: + transcripts (LLM calls). 3: + the
// candidates' kind_times (the Pareto policy's per-instruction time axis). An older database
// is migrated in place when opened (the new table or column only, nothing rewritten; older
// candidates read with no kind times).
inline constexpr int kTuneStoreSchema = 3;

enum class CandidateStatus { Pending, Rejected, Incorrect, BuildFailed, RunFailed, Ok };
// "pending", "rejected" (validator), "incorrect" (emulator or GPU vs reference),
// "build_failed", "run_failed", "ok".
std::string status_name(CandidateStatus s);
CandidateStatus parse_status(const std::string& s);  // throws tessera::Error

enum class CostKind { None, Measured, Predicted };
std::string cost_kind_name(CostKind k);  // "", "measured", "predicted"
CostKind parse_cost_kind(const std::string& s);

struct RunRecord {
  int64_t id = 0;
  std::string target;  // e.g. "sm_90a"
  std::string model;   // shape name or model path
  std::string policy;
  uint64_t seed = 0;
  double budget_minutes = 0;     // 0: none
  int64_t budget_candidates = 0; // 0: none
  std::string started_utc;
  nlohmann::json settings = nlohmann::json::object();  // everything else needed to resume
};

struct CandidateRecord {
  int64_t id = 0;
  int64_t run = 0;
  int64_t parent = -1;  // -1: a root
  std::string op;       // the variation operator that proposed it ("seed", "mutate", ...)
  nlohmann::json op_params = nlohmann::json::object();
  nlohmann::json knobs;  // the knob set lowered (null when the operator proposed a whole plan)
  std::string plan_hash; // of the plan's JSON; the plan itself is in the plans table when kept
  CandidateStatus status = CandidateStatus::Pending;
  double cost_s = 0;
  double spread = 0;  // relative: (p90 - p10) / median for measured costs; 0 for predicted
  CostKind cost_kind = CostKind::None;
  std::string log;
  uint64_t check_seed = 0;  // seed of the random weights the correctness check used
  std::string created_utc, finished_utc;
  // Per instruction kind, of the cost's kind (search/kind_times.h's JSON); {} when unknown.
  nlohmann::json kind_times = nlohmann::json::object();
};

struct CalibrationRecord {
  int64_t id = 0;
  std::string target;
  std::string plan_hash;
  int64_t position = 0;
  double measured_s = 0;
  double spread = 0;
  nlohmann::json features = nlohmann::json::object();  // what the cost model fits on
  std::string created_utc;
};

// One LLM call (an agents::Transcript) as the store keeps it: the whole transcript as JSON,
// with the fields a budget or a report needs as columns. `candidate` is -1 until the call
// is linked to the candidate it produced; a call that produced none (an endpoint error, a
// reply the anchors refused) stays unlinked but recorded.
struct TranscriptRecord {
  int64_t id = 0;
  int64_t run = 0;
  int64_t candidate = -1;
  std::string role;  // "plan" | "code" | "debug"
  bool ok = false;
  std::string error;  // the call's error, or why its reply was not used
  int64_t tokens_in = 0, tokens_out = 0;
  bool usage_reported = false;
  double latency_s = 0;
  nlohmann::json transcript = nlohmann::json::object();
  std::string created_utc;
};

class TuneStore {
 public:
  // Opens (create: creating it and its directories) the database at `path`. Throws
  // tessera::Error naming the path for a missing file (create false), a file that is not
  // an SQLite database, a database of another program, or a newer schema.
  TuneStore(const std::string& path, bool create);
  ~TuneStore();
  TuneStore(const TuneStore&) = delete;
  TuneStore& operator=(const TuneStore&) = delete;

  const std::string& path() const { return path_; }

  int64_t create_run(const RunRecord& r);  // returns its id
  std::vector<RunRecord> runs() const;
  RunRecord run(int64_t id) const;  // throws naming the id when absent

  // Inserts a candidate (its status as given, usually pending) and returns its id.
  int64_t add_candidate(const CandidateRecord& c);
  // Records a candidate's verdict, cost and log (and, when plan_json is given, its plan),
  // in one transaction.
  void finish_candidate(const CandidateRecord& c, const std::string* plan_json = nullptr);
  // Candidates of run `run` (every run when run < 0), by id.
  std::vector<CandidateRecord> candidates(int64_t run) const;
  std::optional<CandidateRecord> candidate(int64_t id) const;

  std::optional<std::string> plan_json(const std::string& hash) const;

  // Stores a plan by its hash (kept if already there): a whole plan proposed before it is
  // evaluated must be on disk before its pending candidate is.
  void add_plan(const std::string& hash, const std::string& plan_json);

  int64_t add_transcript(const TranscriptRecord& t);  // returns its id
  // Links transcripts to the candidate they produced (one transaction).
  void link_transcripts(const std::vector<int64_t>& ids, int64_t candidate);
  // Of one candidate, or of a run (candidate < 0, run >= 0), by id.
  std::vector<TranscriptRecord> transcripts(int64_t run, int64_t candidate) const;

  int64_t add_calibration(const CalibrationRecord& r);
  std::vector<CalibrationRecord> calibration(const std::string& target) const;

 private:
  void exec(const std::string& sql);
  std::string path_;
  sqlite3* db_ = nullptr;
};

// FNV-1a 64 of the text, as 16 hex digits: stable across builds and machines.
std::string content_hash(const std::string& text);
std::string utc_now_iso();

}  // namespace tessera

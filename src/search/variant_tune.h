// `tessera tune --variant ENTRY`: the search over one instruction's code. The candidates are
// CUDA sources of a variant library entry (src/variants/), the root is the entry's
// reference variant, and every child comes from the LLM agents (agent_operator.h over the
// variant subject): the plan agent marks the source, the code agent rewrites inside the
// marks, the debug agent repairs a variant a gate rejected. STARK's tree policy chooses
// the parents. The ladder is the variant gates (evaluate_variant.h: static, compile in a
// child, run in a child on the GPU) and, for a variant that passes them, a timed check at
// the entry's time shape interleaved with the current best; the cost is the best's time
// times the per-pair ratio (the root: its own median), so the keep rule compares
// drift-free numbers. The store, the resume rules and the candidate budget are the knob
// tuner's (tune_loop.h); the best variant's source is written beside the database.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "search/agent_operator.h"
#include "search/evaluate.h"
#include "search/store.h"
#include "variants/evaluate_variant.h"

namespace tessera {

// The ladder's answer on one variant.
struct VariantVerdict {
  // ok; rejected (static gate); build_failed (compile gate); incorrect (the run gate's
  // checks); run_failed (fault, timeout, crash, a child that misbehaved).
  CandidateStatus status = CandidateStatus::Pending;
  std::string log;        // the gates in words: what the debug agent reads
  nlohmann::json gates;   // evaluate_variant's report
  std::string ptx;        // when it compiled: the image a later timed check runs as the leader
  // ok only: the timed check (run gate "timing"): own median and spread, ratio to the leader.
  double median_s = 0, spread = 0;
  PairedRatio ratio;
};

class VariantJudge {
 public:
  virtual ~VariantJudge() = default;
  virtual std::string name() const = 0;
  // Judges `source`, timed against `leader_ptx` (empty: against itself). Throws
  // tessera::Error when it cannot judge at all (no NVRTC, no device), naming why.
  virtual VariantVerdict judge(const std::string& source, const std::string& leader_ptx) = 0;
  // The PTX of an accepted source (a resumed run's leader); throws when it does not compile.
  virtual std::string compile(const std::string& source) = 0;
};

// The real gates (evaluate_variant with options.timed).
std::unique_ptr<VariantJudge> make_gate_judge(const variants::VariantSpec& spec, variants::EvaluateOptions options);

// The gates' report in words, for logs and the debug agent.
std::string variant_gates_log(const nlohmann::json& gates);
// The status a gates report maps to (see VariantVerdict::status); nullopt: incomplete.
std::optional<CandidateStatus> variant_status(const nlohmann::json& gates);

struct VariantTuneOptions {
  std::string entry = "matvec_bf16";
  std::string db;                  // "": .tessera/tune/variant-<entry>.db
  double budget_minutes = 0;       // of this invocation; 0: none
  int64_t budget_candidates = 0;   // in the run, resumed sessions included; 0: none
  bool resume = false;
  uint64_t seed = 1;
  std::string variants_dir;        // "": variants::default_variants_dir()
  AgentSettings agents;            // client required: the agents are the only operator
  int max_empty_draws = 4;         // policy draws in a row that gave nothing: the run ends
};

struct VariantTuneResult {
  int64_t run = 0;
  int64_t evaluated = 0, total = 0, kept = 0;
  std::optional<CandidateRecord> best, root;
  std::string best_source_path;
  std::string stop_reason;
  AgentUsage agents;
};

std::string default_variant_db_path(const std::string& entry);
// best_variant.cu beside the database.
std::string best_variant_path(const std::string& db);

VariantTuneResult run_variant_tune(const VariantTuneOptions& options, VariantJudge& judge, std::FILE* progress);

}  // namespace tessera

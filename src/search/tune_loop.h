// The tuning loop behind `tessera tune`: propose (policy + operators) -> record the
// candidate as pending -> evaluate (evaluate.h) -> record the verdict -> keep the best
// plan on disk. Every candidate reaches the store before its evaluation starts and again
// when it ends, each in its own transaction, so a run killed at any moment resumes with
// nothing lost (a candidate still pending is evaluated again, with its recorded seed).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "search/agent_operator.h"
#include "search/candidate_tree.h"
#include "search/evaluate.h"
#include "search/policy.h"

namespace tessera {

// One step of any search (the tuner and the efficiency experiment share it): asks the
// policy for a proposal whose knob set the tree does not hold yet (up to 200 tries),
// begins it (returns its id), evaluates it and finishes it, then adds it to the tree.
// Returns the new id, or nullopt when the policy has nothing new to propose.
struct SearchHooks {
  std::function<int64_t(const Proposal&, uint64_t check_seed)> begin;
  std::function<Evaluation(const Proposal&, uint64_t check_seed)> evaluate;
  std::function<void(int64_t id, const Proposal&, const Evaluation&)> finish;
};
std::optional<int64_t> search_step(SearchTree& tree, Policy& policy, SearchRng& rng, const SearchHooks& hooks);
TreeNode tree_node(int64_t id, const Proposal& p, const Evaluation& ev);
// The node a stored candidate row makes (what --resume rebuilds the tree from); without a
// space, a node without knobs (a variant search's).
TreeNode tree_node_of(const CandidateRecord& c, const KnobSpace& space);
TreeNode tree_node_of(const CandidateRecord& c);

// The rows a search writes: a proposal about to be evaluated (pending, with the seed of its
// check), and its verdict. The verdict keeps the seed the pending row recorded (it
// reproduces the check's random inputs): finish_candidate rewrites the whole verdict.
CandidateRecord pending_row(int64_t run, const Proposal& p, uint64_t check_seed);
CandidateRecord verdict_row(int64_t id, const Evaluation& ev, const TuneStore& store);
// Whether an evaluation replaces the kept best (kept_best's rule, as the loop applies it).
bool beats_best(const Evaluation& ev, const SearchTree& tree, std::optional<int64_t> best);

struct TuneOptions {
  std::string model_path, shape;  // exactly one
  std::string target;  // "": sm_90a
  std::string policy;  // "": stark
  double budget_minutes = 0;      // of this invocation; 0: none
  int64_t budget_candidates = 0;  // candidates in the run, resumed sessions included; 0: none
  std::string db;                 // "" : default_db_path()
  bool resume = false;
  uint64_t seed = 1;
  int64_t position = 1;
  int context = 0;
  std::vector<std::string> start_knobs;  // the root candidate's knobs (key=value)
  std::vector<std::string> space_keys;   // search only these knobs (empty: all)
  std::string check_shape = "tiny";
  AgentSettings agents;  // client null: no LLM agents (tune --agents llm sets it)
  bool structural = false;  // also the structural rewrite operators (structural_operators.h)
};

struct TuneResult {
  int64_t run = 0;
  int64_t evaluated = 0;  // by this invocation
  int64_t total = 0;      // in the run
  int64_t kept = 0;       // ok and faster than their parent
  std::optional<CandidateRecord> best;
  double floor_s = 0;     // predicted (H100 ceilings)
  std::string best_plan_path;
  std::string stop_reason;
  std::optional<AgentUsage> agents;  // when agents were on
};

// "M:SS", for progress lines.
std::string duration_text(double seconds);

// ".tessera/tune/<model>-<target>.db", the model named by its shape or file name.
std::string default_db_path(const std::string& model, const std::string& target);
// The best plan is written beside the database.
std::string best_plan_path(const std::string& db);

// What a run evaluates against: the ladder's settings, the start knobs and the knob space,
// built from the options (run_tune) or from a run as the store recorded it (the outside
// agents' session, search/agent_session.h; costs predicted: measurer null).
struct RunSetup {
  EvalSettings eval;
  LowerConfig base;
  KnobSpace space;
};
RunSetup run_setup(const TuneOptions& options, Measurer* measurer, const TuneStore& store);
RunSetup recorded_run_setup(const TuneStore& store, const RunRecord& run);

// Throws tessera::Error for a bad database or settings; progress lines go to `progress`
// (nullptr: silent). measurer null: predicted costs.
TuneResult run_tune(const TuneOptions& options, Measurer* measurer, std::FILE* progress);

}  // namespace tessera

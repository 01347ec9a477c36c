// The LLM agents as a variation operator (issue 8). It wraps the built-in mutation: when
// the policy asks for a mutation of a parent, the operator draws the agents with
// probability `rate` (and while the call budget lasts), otherwise, and whenever the agents
// produce nothing usable, it hands the parent to the built-in mutation. So every policy
// that mutates (stark, evolve) gets agents without changing, and an endpoint that fails
// costs a recorded transcript, never the run.
//
// One agent proposal is a plan call then a code call on the parent as the subject shows it
// (agent_subject.h): a knob set's document, where the plan agent marks one group with
// "__improve__" advice and the code agent rewrites inside it (whole document or JSON
// Patch), or an instruction variant's CUDA source, marked with source anchors; either way
// apply_anchored_edit holds the edit to the marks. The child ("llm") goes through the
// whole ladder. When an "llm" candidate fails it (lowering, validator, emulator; a
// variant's static, compile or run gate), the next mutation is one debug call on it with
// the ladder's log ("llm_debug", a sibling of the failed candidate, op_params.repairs
// naming it): once per failed candidate, never for a failed repair.
//
// Every call is stored as soon as it returns (hooks.record), whatever became of it; the
// proposal lists the ids in op_params.transcripts and the loop links them to the candidate
// it records. Calls whose reply was not used carry the reason in their error column.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "agents/context_window.h"
#include "agents/llm_client.h"
#include "search/agent_subject.h"
#include "search/agent_tree_view.h"
#include "search/operators.h"

namespace tessera {

struct AgentSettings {
  std::shared_ptr<agents::LlmClient> client;  // null: agents off
  double rate = 0.25;              // chance that a mutation is drawn from the agents
  int64_t budget_calls = 0;        // LLM calls in the run, resumed sessions included; 0: none
  int64_t budget_tokens = 0;       // tokens in + out in the run; no call starts once spent; 0: none
  int max_consecutive_failures = 3;  // endpoint failures in a row that switch the agents off
  std::string prompts_dir;         // "": agents::default_prompts_dir()
  agents::ContextOptions context;
};

struct AgentUsage {
  int64_t calls = 0, tokens = 0;  // of the run (from the store on resume)
  int64_t failed_calls = 0;       // endpoint failures, this invocation
  int64_t proposals = 0;          // agent proposals handed to the loop, this invocation
  bool switched_off = false;
  std::string last_failure;       // why the last agent draw produced nothing
};

struct AgentLoopHooks {
  std::function<int64_t(const TranscriptRecord&)> record;  // stores one call now; returns its id
  CandidateLookup candidate;                                // a candidate's row (its log)
  std::string target;                                       // the model, GPU, floor, in a few lines
};

class AgentOperator : public VariationOperator {
 public:
  // `repaired`: failed "llm" candidates that already had their debug call (from the store).
  // `fallback` (null: none) proposes when the agents do not.
  AgentOperator(std::shared_ptr<const AgentSubject> subject, AgentSettings settings, AgentLoopHooks hooks,
                std::shared_ptr<VariationOperator> fallback, AgentUsage used, std::set<int64_t> repaired);
  std::string name() const override { return "llm"; }
  std::optional<Proposal> propose(const SearchTree& tree, const std::vector<int64_t>& parents,
                                  SearchRng& rng) override;
  const AgentUsage& usage() const { return usage_; }
  // Whether `calls` more calls fit the run's call and token budgets.
  bool affordable(int calls) const;

 private:
  struct Draft;  // one attempt's transcripts and outcome
  std::optional<Proposal> plan_and_code(const SearchTree& tree, int64_t parent, Draft& d);
  std::optional<Proposal> repair(const SearchTree& tree, int64_t failed, Draft& d);
  std::string call(agents::AgentRole role, const std::vector<agents::ChatMessage>& messages,
                   const std::function<void(const std::string&)>& use, Draft& d);
  std::optional<int64_t> repair_due(const SearchTree& tree) const;

  std::shared_ptr<const AgentSubject> subject_;
  AgentSettings s_;
  AgentLoopHooks hooks_;
  std::shared_ptr<VariationOperator> fallback_;
  AgentUsage usage_;
  std::set<int64_t> repaired_;
  int consecutive_failures_ = 0;
};

}  // namespace tessera

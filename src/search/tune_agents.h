// What run_tune adds when agents are on (`tessera tune --agents llm`): the agent operator
// installed over the built-in mutation, wired to the run's store (calls recorded as they
// return, logs read back for prompts), with the budget already spent by earlier sessions of
// the run counted from the store, so --resume keeps the run's budget. Kept out of
// tune_loop.cpp so the loop stays the loop.
#pragma once

#include <memory>
#include <set>

#include "search/agent_operator.h"
#include "search/evaluate.h"
#include "search/store.h"

namespace tessera {

// `run` is read when calls are recorded (a new run gets its id after the policy is built).
std::shared_ptr<AgentOperator> install_agents(OperatorSet& ops, const KnobSpace& space, const EvalSettings& es,
                                              const AgentSettings& settings, TuneStore& store, const RunRecord& run);

// What earlier sessions of a run spent and repaired (run.id 0: a new run, nothing).
struct AgentHistory {
  AgentUsage used;
  std::set<int64_t> repaired;  // failed "llm" candidates that had their debug call
};
AgentHistory agent_history(const TuneStore& store, const RunRecord& run);
// The hooks that store calls as they return (in `run`, read at each call) and read
// candidates back; the target lines are the caller's.
AgentLoopHooks agent_store_hooks(TuneStore& store, const RunRecord& run);

// Links the transcripts a proposal names (op_params.transcripts) to candidate `id`.
void link_proposal_transcripts(TuneStore& store, const Proposal& p, int64_t id);

}  // namespace tessera

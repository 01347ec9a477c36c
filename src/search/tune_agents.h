// What run_tune adds when agents are on (`tessera tune --agents llm`): the agent operator
// installed over the built-in mutation, wired to the run's store (calls recorded as they
// return, logs read back for prompts), with the budget already spent by earlier sessions of
// the run counted from the store, so --resume keeps the run's budget. Kept out of
// tune_loop.cpp so the loop stays the loop.
#pragma once

#include <memory>

#include "search/agent_operator.h"
#include "search/evaluate.h"
#include "search/store.h"

namespace tessera {

// `run` is read when calls are recorded (a new run gets its id after the policy is built).
std::shared_ptr<AgentOperator> install_agents(OperatorSet& ops, const KnobSpace& space, const EvalSettings& es,
                                              const AgentSettings& settings, TuneStore& store, const RunRecord& run);

// Links the transcripts a proposal names (op_params.transcripts) to candidate `id`.
void link_proposal_transcripts(TuneStore& store, const Proposal& p, int64_t id);

}  // namespace tessera

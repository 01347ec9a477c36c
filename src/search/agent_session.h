// The store-backed operations of `tessera agent --db FILE` and of the MCP server: an outside
// agent proposes a knob set or a whole plan as a child of a candidate, has it evaluated by
// the same ladder as the tuner's own candidates (lower or parse, validate, emulate against
// the CPU reference, then verified and timed on the GPU when the session has a measurer for
// the candidate's run, a predicted cost otherwise), reads the
// leaderboard and a candidate's log and LLM transcripts. Same guards as the loop: a
// proposal is recorded pending and ranks nowhere until the ladder says ok; a failure is
// recorded with its log; measured and predicted costs are never ranked against each other.
#pragma once

#include <functional>

#include "agents/agent_protocol.h"
#include "search/evaluate.h"
#include "search/store.h"

namespace tessera {

// The GPU rungs for a run's candidates: a Measurer for the model and position `eval` says
// the run tunes (the caller owns it and keeps it alive for the session), or null for
// predicted costs. Called on every evaluate; a measured evaluation also writes its
// calibration row, as in `tune --measure gpu`.
using MeasurerForRun = std::function<Measurer*(const RunRecord& run, const EvalSettings& eval)>;

// propose, evaluate, leaderboard, logs over `store` (which must outlive the table).
agents::AgentOpTable agent_session_ops(TuneStore& store, MeasurerForRun measurer = {});

}  // namespace tessera

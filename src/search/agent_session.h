// The store-backed operations of `tessera agent --db FILE` and of the MCP server: an outside
// agent proposes a knob set or a whole plan as a child of a candidate, has it evaluated by
// the same ladder as the tuner's own candidates (lower or parse, validate, emulate against
// the CPU reference, then a predicted cost: a session has no GPU measurer), reads the
// leaderboard and a candidate's log and LLM transcripts. Same guards as the loop: a
// proposal is recorded pending and ranks nowhere until the ladder says ok; a failure is
// recorded with its log; measured and predicted costs are never ranked against each other.
#pragma once

#include "agents/agent_protocol.h"
#include "search/store.h"

namespace tessera {

// propose, evaluate, leaderboard, logs over `store` (which must outlive the table).
agents::AgentOpTable agent_session_ops(TuneStore& store);

}  // namespace tessera

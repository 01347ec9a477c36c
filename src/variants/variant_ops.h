// The variant library's operations for `tessera agent` (and its MCP tools): an agent
// reads an entry (signature, contract, reference source) and has a variant judged by all
// three gates. They are added to the built-in table (agents/agent_protocol.h) by the
// command, like the store-backed operations, so the agents layer does not depend on this
// one.
#pragma once

#include "agents/agent_protocol.h"
#include "variants/evaluate_variant.h"

namespace tessera::variants {

// "variant_entries" and "evaluate_variant". `options` is the run gate's and compile
// gate's configuration (tests point tessera_binary at the built binary).
agents::AgentOpTable variant_ops(const EvaluateOptions& options = {});

}  // namespace tessera::variants

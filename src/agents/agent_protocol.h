// `tessera agent`: the JSON-lines surface an outside coding agent drives (one request
// object per line in, one response object per line out; docs/AGENTS.md has the schema).
// The handling is here, apart from stdin/stdout, so tests call it directly and the MCP
// server planned in issue 8 can reuse it. Requests that need the search store (propose,
// evaluate, leaderboard, logs) answer a clear "unavailable" error until that store is
// merged; they never answer with made-up data.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace tessera::agents {

// One request line to one response object. Never throws for bad input: a line that is not
// JSON, lacks "op" or has wrong fields gets an error response naming what is wrong.
nlohmann::json handle_agent_request(const std::string& line);

}  // namespace tessera::agents

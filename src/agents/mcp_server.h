// The outside-agent operations as an MCP server (Model Context Protocol, JSON-RPC 2.0 over
// stdio, one message per line): initialize, ping, tools/list and tools/call. Each agent
// operation is one tool, its input schema the operation's; tools/call runs the operation
// through handle_agent_request, so MCP and the JSON-lines session share one
// implementation. Notifications (no id) are not answered; client responses are ignored;
// errors follow JSON-RPC 2.0 (-32700 parse, -32600 invalid request, -32601 unknown method,
// -32602 invalid params). An operation that fails is a tool result with isError true (the
// agent should see it and react), not a protocol error.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "agents/agent_protocol.h"

namespace tessera::agents {

// MCP protocol revisions this server speaks; initialize answers the client's when listed,
// else the newest.
inline constexpr const char* kMcpProtocolVersions[] = {"2025-06-18", "2025-03-26", "2024-11-05"};

// The response to one line, or nullopt when none is due (a notification, a client response).
std::optional<nlohmann::json> handle_mcp_line(const std::string& line, const AgentOpTable& ops);

}  // namespace tessera::agents

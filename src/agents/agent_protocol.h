// `tessera agent`: the JSON-lines surface an outside coding agent drives (one request
// object per line in, one response object per line out; docs/AGENTS.md has the schema),
// and the operations behind the MCP server (mcp_server.h), which calls the same table so
// no operation has a second implementation. The handling is here, apart from stdin/stdout,
// so tests call it directly.
//
// Operations are a table: name, description, the JSON Schema of the request's fields
// (what MCP's tools/list publishes) and a function. The built-in ones need nothing; the
// store-backed ones (propose, evaluate, leaderboard, logs) are added by the search layer
// (search/agent_session.h) when a session has a tuning database, and otherwise answer a
// clear "unavailable" error: never made-up data.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>

#include "core/error.h"

namespace tessera::agents {

// An operation's refusal with its response code: "bad_request" (fields), "rejected" (the
// content failed a check), "not_found", "unavailable", "error".
struct AgentOpError : Error {
  AgentOpError(std::string c, const std::string& m) : Error(m), code(std::move(c)) {}
  std::string code;
};

struct AgentOp {
  std::string description;
  nlohmann::json input_schema;  // JSON Schema (an object schema) of the fields besides id and op
  std::function<nlohmann::json(const nlohmann::json&)> run;  // null: unavailable
  std::string unavailable;      // why, when run is null
};
using AgentOpTable = std::map<std::string, AgentOp>;

// The built-in operations, with `extra` (replacing entries of the same name) on top.
AgentOpTable agent_ops(const AgentOpTable& extra = {});

// One request line to one response object. Never throws for bad input: a line that is not
// JSON, lacks "op" or has wrong fields gets an error response naming what is wrong.
nlohmann::json handle_agent_request(const std::string& line, const AgentOpTable& ops = agent_ops());
// The same for a parsed request.
nlohmann::json handle_agent_request(const nlohmann::json& request, const AgentOpTable& ops);

// Field readers for operations: throw AgentOpError("bad_request") naming the field.
std::string string_field(const nlohmann::json& req, const char* name, bool required = true);
int64_t integer_field(const nlohmann::json& req, const char* name, bool required, int64_t fallback = 0);

}  // namespace tessera::agents

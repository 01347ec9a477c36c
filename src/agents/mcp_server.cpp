// One function per method over the agent operation table; the table's "help" is not a tool
// (tools/list is MCP's help). Batches are refused as invalid requests: MCP 2025-06-18
// removed JSON-RPC batching, and no client of the older revisions relies on it.
#include "agents/mcp_server.h"

#include <fmt/format.h>

namespace tessera::agents {

namespace {

using nlohmann::json;

struct RpcError {
  int code;
  std::string message;
};

json error_response(const json& id, const RpcError& e) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", e.code}, {"message", e.message}}}};
}

json initialize(const json& params) {
  std::string version = kMcpProtocolVersions[0];
  if (auto it = params.find("protocolVersion"); it != params.end() && it->is_string())
    for (const char* v : kMcpProtocolVersions)
      if (*it == v) version = v;
  return {{"protocolVersion", version},
          {"capabilities", {{"tools", {{"listChanged", false}}}}},
          {"serverInfo", {{"name", "tessera"}, {"version", "0.1"}}},
          {"instructions",
           "Tessera's tuning session: propose knob sets or plans as children of candidates, evaluate them on the "
           "verification ladder, read the leaderboard and candidates' logs. Nothing unverified is ranked."}};
}

json tools_list(const AgentOpTable& ops) {
  json tools = json::array();
  for (const auto& [name, op] : ops) {
    if (name == "help") continue;
    std::string description = op.description;
    if (!op.run) description += " (unavailable: " + op.unavailable + ")";
    tools.push_back({{"name", name}, {"description", description}, {"inputSchema", op.input_schema}});
  }
  return {{"tools", tools}};
}

json tools_call(const json& params, const AgentOpTable& ops) {
  auto name = params.find("name");
  if (name == params.end() || !name->is_string()) throw RpcError{-32602, "tools/call: params.name must be a string"};
  if (*name == "help" || !ops.count(name->get<std::string>()))
    throw RpcError{-32602, fmt::format("tools/call: unknown tool \"{}\"", name->get<std::string>())};
  json request = json::object();
  if (auto args = params.find("arguments"); args != params.end() && !args->is_null()) {
    if (!args->is_object()) throw RpcError{-32602, "tools/call: params.arguments must be an object"};
    request = *args;
  }
  request["op"] = *name;
  request.erase("id");
  const json r = handle_agent_request(request, ops);
  if (r["ok"] == true) return {{"content", {{{"type", "text"}, {"text", r["result"].dump()}}}}, {"isError", false}};
  const json& e = r["error"];
  return {{"content", {{{"type", "text"}, {"text", fmt::format("{}: {}", e["code"].get<std::string>(),
                                                               e["message"].get<std::string>())}}}},
          {"isError", true}};
}

}  // namespace

std::optional<json> handle_mcp_line(const std::string& line, const AgentOpTable& ops) {
  json msg;
  try {
    msg = json::parse(line);
  } catch (const json::parse_error& e) {
    return error_response(nullptr, {-32700, fmt::format("parse error: {}", e.what())});
  }
  if (!msg.is_object()) return error_response(nullptr, {-32600, "a message must be a JSON-RPC 2.0 object (no batches)"});
  const bool has_id = msg.contains("id");
  const json id = has_id ? msg["id"] : json(nullptr);
  if (has_id && !(id.is_string() || id.is_number_integer() || id.is_null()))
    return error_response(nullptr, {-32600, "id must be a string or an integer"});
  if (msg.value("jsonrpc", json()) != "2.0") return error_response(id, {-32600, "\"jsonrpc\" must be \"2.0\""});
  auto method = msg.find("method");
  if (method == msg.end()) {
    if (msg.contains("result") || msg.contains("error")) return std::nullopt;  // a response to us: we send no requests
    return error_response(id, {-32600, "missing \"method\""});
  }
  if (!method->is_string()) return error_response(id, {-32600, "\"method\" must be a string"});
  if (!has_id) return std::nullopt;  // a notification (notifications/initialized, cancelled, ...)
  json params = msg.value("params", json::object());
  if (!params.is_object()) return error_response(id, {-32602, "params must be an object"});
  try {
    json result;
    const std::string m = *method;
    if (m == "initialize") result = initialize(params);
    else if (m == "ping") result = json::object();
    else if (m == "tools/list") result = tools_list(ops);
    else if (m == "tools/call") result = tools_call(params, ops);
    else throw RpcError{-32601, fmt::format("method not found: \"{}\"", m)};
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", result}};
  } catch (const RpcError& e) {
    return error_response(id, e);
  } catch (const std::exception& e) {
    return error_response(id, {-32603, fmt::format("internal error: {}", e.what())});
  }
}

}  // namespace tessera::agents

// Request dispatch for `tessera agent` (see agent_protocol.h). Each operation is a small
// function from the request's fields to a result; errors are thrown as AgentOpError with
// a code, and turned into {"ok": false, "error": {"code", "message"}} in one place.
#include "agents/agent_protocol.h"

#include "agents/anchors.h"
#include "agents/variant_guard.h"
#include "core/error.h"


namespace tessera::agents {

namespace {

using nlohmann::json;

using ProtocolError = AgentOpError;

[[noreturn]] void bad_request(const std::string& m) { throw ProtocolError("bad_request", m); }

AnchorLanguage language_field(const json& req) {
  const std::string name = string_field(req, "language");
  try {
    return parse_anchor_language(name);
  } catch (const Error& e) {
    bad_request(e.what());
  }
}

json op_check_variant(const json& req) {
  VariantGuardPolicy policy;
  policy.entry = string_field(req, "entry", false);
  policy.signature = string_field(req, "signature", false);
  const GuardReport r = check_variant(string_field(req, "source"), policy);
  json findings = json::array();
  for (const GuardFinding& f : r.findings) findings.push_back({{"line", f.line}, {"rule", f.rule}, {"message", f.message}});
  return {{"accepted", r.ok()}, {"findings", findings}};
}

json op_check_anchors(const json& req) {
  const AnchorLanguage lang = language_field(req);
  const std::string anchored = string_field(req, "anchored");
  const std::string source = string_field(req, "source", false);
  try {
    if (!source.empty()) check_anchors_only(source, anchored, lang);
    json spans = json::array();
    for (const AnchorSpan& s : parse_anchors(anchored, lang)) {
      json j{{"advice", s.advice}, {"body", s.body}};
      if (lang == AnchorLanguage::Json)
        j["pointer"] = s.pointer;
      else
        j.update({{"begin_line", s.begin_line}, {"end_line", s.end_line}});
      spans.push_back(j);
    }
    return {{"spans", spans}};
  } catch (const ProtocolError&) {
    throw;
  } catch (const Error& e) {
    throw ProtocolError("rejected", e.what());
  }
}

json op_apply_edit(const json& req) {
  const AnchorLanguage lang = language_field(req);
  const std::string anchored = string_field(req, "anchored");
  const std::string edited = string_field(req, "edited");
  try {
    return {{"result", apply_anchored_edit(anchored, edited, lang)}};
  } catch (const Error& e) {
    throw ProtocolError("rejected", e.what());
  }
}

json object_schema(json properties, std::vector<std::string> required) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}

const json kStr = {{"type", "string"}};

json language_schema() {
  return {{"type", "string"}, {"enum", {"cuda", "cpp", "json"}}};
}

const char* const kNeedsStore =
    "needs a tuning database: start the session with `tessera agent --db FILE` (a database `tessera tune` wrote)";

}  // namespace

std::string string_field(const json& req, const char* name, bool required) {
  auto it = req.find(name);
  if (it == req.end()) {
    if (required) bad_request(fmt::format("missing field \"{}\"", name));
    return {};
  }
  if (!it->is_string()) bad_request(fmt::format("field \"{}\" must be a string, not {}", name, it->type_name()));
  return it->get<std::string>();
}

int64_t integer_field(const json& req, const char* name, bool required, int64_t fallback) {
  auto it = req.find(name);
  if (it == req.end()) {
    if (required) bad_request(fmt::format("missing field \"{}\"", name));
    return fallback;
  }
  if (!it->is_number_integer()) bad_request(fmt::format("field \"{}\" must be an integer, not {}", name, it->type_name()));
  return it->get<int64_t>();
}

AgentOpTable agent_ops(const AgentOpTable& extra) {
  AgentOpTable t{
      {"help", {"list the operations", object_schema(json::object(), {}), nullptr, ""}},
      {"check_variant",
       {"static gate for a CUDA instruction variant",
        object_schema({{"source", kStr}, {"entry", kStr}, {"signature", kStr}}, {"source"}), op_check_variant, ""}},
      {"check_anchors",
       {"parse anchors, optionally proving only anchors were added",
        object_schema({{"language", language_schema()}, {"anchored", kStr}, {"source", kStr}}, {"language", "anchored"}),
        op_check_anchors, ""}},
      {"apply_edit",
       {"apply an edit held to the anchored spans",
        object_schema({{"language", language_schema()}, {"anchored", kStr}, {"edited", kStr}},
                      {"language", "anchored", "edited"}),
        op_apply_edit, ""}},
      {"propose", {"propose a knob set or a whole plan as a child of a candidate", object_schema(json::object(), {}),
                   nullptr, kNeedsStore}},
      {"evaluate", {"run the evaluation ladder on a proposed candidate", object_schema(json::object(), {}), nullptr,
                    kNeedsStore}},
      {"leaderboard", {"the best verified candidates so far", object_schema(json::object(), {}), nullptr, kNeedsStore}},
      {"logs", {"a candidate's log and LLM transcripts", object_schema(json::object(), {}), nullptr, kNeedsStore}},
  };
  for (const auto& [name, op] : extra) t[name] = op;
  return t;
}

json handle_agent_request(const json& req, const AgentOpTable& ops) {
  json id = nullptr;
  try {
    if (!req.is_object()) bad_request(fmt::format("a request must be a JSON object, not {}", req.type_name()));
    if (auto it = req.find("id"); it != req.end()) id = *it;
    const std::string op = string_field(req, "op");
    auto it = ops.find(op);
    if (it == ops.end()) {
      std::string names;
      for (const auto& [name, o] : ops) names += (names.empty() ? "" : ", ") + name;
      throw ProtocolError("unknown_op", fmt::format("unknown op \"{}\" (known: {})", op, names));
    }
    json result;
    if (op == "help") {
      result = json::object();
      for (const auto& [name, o] : ops)
        result[name] = {{"description", o.description}, {"available", name == "help" || bool(o.run)}};
    } else if (!it->second.run) {
      throw ProtocolError("unavailable", fmt::format("\"{}\" {}", op, it->second.unavailable));
    } else {
      result = it->second.run(req);
    }
    return {{"id", id}, {"ok", true}, {"result", result}};
  } catch (const ProtocolError& e) {
    return {{"id", id}, {"ok", false}, {"error", {{"code", e.code}, {"message", e.what()}}}};
  } catch (const Error& e) {
    return {{"id", id}, {"ok", false}, {"error", {{"code", "error"}, {"message", e.what()}}}};
  } catch (const json::exception& e) {
    return {{"id", id}, {"ok", false}, {"error", {{"code", "bad_request"}, {"message", e.what()}}}};
  }
}

json handle_agent_request(const std::string& line, const AgentOpTable& ops) {
  json req;
  try {
    req = json::parse(line);
  } catch (const json::parse_error& e) {
    return {{"id", nullptr},
            {"ok", false},
            {"error", {{"code", "bad_request"}, {"message", fmt::format("the line is not JSON: {}", e.what())}}}};
  }
  return handle_agent_request(req, ops);
}

}  // namespace tessera::agents

// Request dispatch for `tessera agent` (see agent_protocol.h). Each operation is a small
// function from the request's fields to a result; errors are thrown as tessera::Error with
// a code, and turned into {"ok": false, "error": {"code", "message"}} in one place.
#include "agents/agent_protocol.h"

#include "agents/anchors.h"
#include "agents/variant_guard.h"
#include "core/error.h"

#include <functional>
#include <map>

namespace tessera::agents {

namespace {

using nlohmann::json;

struct ProtocolError : Error {
  ProtocolError(std::string c, const std::string& m) : Error(m), code(std::move(c)) {}
  std::string code;
};

[[noreturn]] void bad_request(const std::string& m) { throw ProtocolError("bad_request", m); }

std::string string_field(const json& req, const char* name, bool required = true) {
  auto it = req.find(name);
  if (it == req.end()) {
    if (required) bad_request(fmt::format("missing field \"{}\"", name));
    return {};
  }
  if (!it->is_string()) bad_request(fmt::format("field \"{}\" must be a string, not {}", name, it->type_name()));
  return it->get<std::string>();
}

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

[[noreturn]] json needs_search_store(const json& req) {
  throw ProtocolError("unavailable", fmt::format("\"{}\" is not available until the search store (issue 7) is merged",
                                                 req["op"].get<std::string>()));
}

struct Op {
  const char* description;
  std::function<json(const json&)> run;
  bool available;
};

const std::map<std::string, Op>& ops() {
  static const std::map<std::string, Op> table{
      {"help", {"list the operations", nullptr, true}},
      {"check_variant", {"static gate for a CUDA instruction variant: {source, entry?, signature?}", op_check_variant, true}},
      {"check_anchors", {"parse anchors, optionally proving only anchors were added: {language, anchored, source?}",
                         op_check_anchors, true}},
      {"apply_edit", {"apply an edit held to the anchored spans: {language, anchored, edited}", op_apply_edit, true}},
      {"propose", {"propose a plan or variant as a child of a candidate", needs_search_store, false}},
      {"evaluate", {"run the evaluation ladder on a candidate", needs_search_store, false}},
      {"leaderboard", {"the best candidates so far", needs_search_store, false}},
      {"logs", {"a candidate's logs and transcripts", needs_search_store, false}},
  };
  return table;
}

}  // namespace

json handle_agent_request(const std::string& line) {
  json id = nullptr;
  try {
    json req;
    try {
      req = json::parse(line);
    } catch (const json::parse_error& e) {
      bad_request(fmt::format("the line is not JSON: {}", e.what()));
    }
    if (!req.is_object()) bad_request(fmt::format("a request must be a JSON object, not {}", req.type_name()));
    if (auto it = req.find("id"); it != req.end()) id = *it;
    const std::string op = string_field(req, "op");
    auto it = ops().find(op);
    if (it == ops().end()) {
      std::string names;
      for (const auto& [name, o] : ops()) names += (names.empty() ? "" : ", ") + name;
      throw ProtocolError("unknown_op", fmt::format("unknown op \"{}\" (known: {})", op, names));
    }
    json result;
    if (op == "help") {
      result = json::object();
      for (const auto& [name, o] : ops()) result[name] = {{"description", o.description}, {"available", o.available}};
    } else {
      result = it->second.run(req);
    }
    return {{"id", id}, {"ok", true}, {"result", result}};
  } catch (const ProtocolError& e) {
    return {{"id", id}, {"ok", false}, {"error", {{"code", e.code}, {"message", e.what()}}}};
  } catch (const Error& e) {
    return {{"id", id}, {"ok", false}, {"error", {{"code", "error"}, {"message", e.what()}}}};
  }
}

}  // namespace tessera::agents

// Anchors in JSON plans. A marker member ("__improve__": "advice") is used instead of a
// side list of paths because it sits inside the very object it marks, as a comment would
// in source, so a plan agent writes it where it reads the plan. Edits are checked as JSON
// Patch operations: a whole-document answer is first turned into the patch that produces
// it (json::diff), so both answer forms meet the same rule, "every operation's path lies in
// a marked object", and a rejection names the operation and the pointer.
#include "agents/anchors_json.h"

#include "core/error.h"

#include <nlohmann/json.hpp>

#include <optional>

namespace tessera::agents::detail {

namespace {

using nlohmann::json;

const std::string kKey(kJsonImproveKey);

json parse_json(const std::string& text, const char* what) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    fail("{} is not valid JSON: {}", what, e.what());
  }
}

std::string show(const std::string& pointer) { return pointer.empty() ? "'' (the whole document)" : "'" + pointer + "'"; }

// `marked_at`: the pointer of the marked object enclosing `j`, if any.
void collect(const json& j, const json::json_pointer& at, const std::optional<std::string>& marked_at,
             std::vector<AnchorSpan>* out) {
  const std::string here = at.to_string();
  std::optional<std::string> inside = marked_at;
  if (j.is_object()) {
    if (auto m = j.find(kKey); m != j.end()) {
      if (marked_at)
        fail("{} is marked inside the marked {} (marked objects do not nest)", show(here), show(*marked_at));
      if (!m->is_string() || m->get<std::string>().empty())
        fail("{}: \"{}\" must be a non-empty string of advice, found {}", show(here), kKey, m->dump());
      AnchorSpan s;
      s.pointer = here;
      s.advice = m->get<std::string>();
      json body = j;
      body.erase(kKey);
      s.body = body.dump(2);
      out->push_back(std::move(s));
      inside = here;
    }
    for (const auto& [k, v] : j.items())
      if (k != kKey) collect(v, at / k, inside, out);
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) collect(j[i], at / i, inside, out);
  }
}

void strip(json& j) {
  if (j.is_object()) {
    j.erase(kKey);
    for (auto& [k, v] : j.items()) strip(v);
  } else if (j.is_array()) {
    for (auto& v : j) strip(v);
  }
}

bool within(const std::string& path, const std::vector<AnchorSpan>& spans) {
  for (const AnchorSpan& s : spans)
    if (path == s.pointer || path.rfind(s.pointer + "/", 0) == 0) return true;
  return false;
}

std::string marked_list(const std::vector<AnchorSpan>& spans) {
  std::string out;
  for (const AnchorSpan& s : spans) out += (out.empty() ? "" : ", ") + show(s.pointer);
  return out;
}

}  // namespace

std::vector<AnchorSpan> json_parse_anchors(const std::string& text) {
  const json j = parse_json(text, "the anchored plan");
  std::vector<AnchorSpan> spans;
  collect(j, json::json_pointer(), std::nullopt, &spans);
  if (spans.empty())
    fail("no \"{}\" member found: mark each object to change with \"{}\": \"advice\"", kKey, kKey);
  return spans;
}

std::string json_strip_anchors(const std::string& text) {
  (void)json_parse_anchors(text);
  json j = parse_json(text, "the anchored plan");
  strip(j);
  return j.dump(2);
}

void json_check_anchors_only(const std::string& source, const std::string& anchored) {
  const json want = parse_json(source, "the source plan");
  (void)json_parse_anchors(anchored);
  json got = parse_json(anchored, "the anchored plan");
  strip(got);
  const json patch = json::diff(want, got);
  if (!patch.empty()) {
    const json& op = patch[0];
    fail("the anchored plan changes {} ({} operation; {} change{} in all): the plan agent may only add \"{}\" members",
         show(op["path"].get<std::string>()), op["op"].get<std::string>(), patch.size(), patch.size() == 1 ? "" : "s",
         kKey);
  }
}

std::string json_apply_anchored_edit(const std::string& anchored, const std::string& edited) {
  const std::vector<AnchorSpan> spans = json_parse_anchors(anchored);
  json base = parse_json(anchored, "the anchored plan");
  strip(base);
  json answer = parse_json(edited, "the edit");
  json patch;
  if (answer.is_array()) {
    patch = answer;
    for (size_t i = 0; i < patch.size(); ++i) {
      const json& op = patch[i];
      if (!op.is_object() || !op.contains("op") || !op["op"].is_string() || !op.contains("path") ||
          !op["path"].is_string())
        fail("patch operation {} is not an object with string \"op\" and \"path\": {}", i, op.dump());
    }
  } else {
    strip(answer);
    patch = json::diff(base, answer);
  }
  for (size_t i = 0; i < patch.size(); ++i) {
    const json& op = patch[i];
    const std::string name = op["op"].get<std::string>();
    const std::string path = op["path"].get<std::string>();
    if (name != "test" && !within(path, spans))
      fail("patch operation {} ({} {}) changes {}, outside every marked object ({})", i, name, show(path), show(path),
           marked_list(spans));
    if (name == "move" && op.contains("from") && op["from"].is_string() && !within(op["from"].get<std::string>(), spans))
      fail("patch operation {} (move from {}) removes {}, outside every marked object ({})", i,
           show(op["from"].get<std::string>()), show(op["from"].get<std::string>()), marked_list(spans));
  }
  try {
    return base.patch(patch).dump(2);
  } catch (const json::exception& e) {
    fail("the edit's JSON Patch does not apply to the plan: {}", e.what());
  }
}

std::string json_apply_span_bodies(const std::string& anchored, const std::vector<std::string>& bodies) {
  const std::vector<AnchorSpan> spans = json_parse_anchors(anchored);
  if (bodies.size() != spans.size()) fail("{} replacement objects for {} marked objects", bodies.size(), spans.size());
  json base = parse_json(anchored, "the anchored plan");
  strip(base);
  for (size_t k = 0; k < spans.size(); ++k) {
    json body = parse_json(bodies[k], fmt::format("replacement {} (for {})", k + 1, show(spans[k].pointer)).c_str());
    strip(body);
    base[json::json_pointer(spans[k].pointer)] = std::move(body);
  }
  return base.dump(2);
}

}  // namespace tessera::agents::detail

// The grouping is a fixed table so prompts and anchors stay stable across shapes; a knob the
// table does not know (a future one) lands in "other" rather than being hidden from agents.
#include "search/knob_document.h"

#include <fmt/format.h>

#include "core/error.h"

namespace tessera {

namespace {

std::string group_of(const std::string& key) {
  static const std::map<std::string, std::string> groups{
      {"qkv_heads_per_task", "tiles"}, {"qkv_head_parts", "tiles"},     {"o_rows_per_task", "tiles"},
      {"gate_up_rows_per_task", "tiles"},
      {"down_rows_per_task", "tiles"}, {"lm_rows_per_task", "tiles"},    {"kv_splits", "attention"}, {"fold_attention", "attention"},
      {"sms", "schedule"},             {"pipeline_stages", "schedule"},  {"threads", "schedule"},
      {"rows_per_warp", "schedule"},  {"queue_order", "schedule"},
      {"counter_granularity", "schedule"}, {"fuse_norm", "schedule"}, {"o_prefetch", "schedule"},
      {"gate_up_prefetch_kib", "schedule"}, {"qkv_prefetch_kib", "schedule"}, {"down_prefetch_kib", "schedule"},
  };
  auto it = groups.find(key);
  return it == groups.end() ? "other" : it->second;
}

// Knob text ("64", "true", "bytes") as the typed JSON value LowerConfig::to_json would write.
nlohmann::json typed(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  if (!text.empty() && text.find_first_not_of("-0123456789") == std::string::npos && text.size() < 18)
    return std::stoll(text);
  return text;
}

std::string text_of(const nlohmann::json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return v.dump();
  fail("{}: expected a number, boolean or string, got {}", where, v.type_name());
}

const KnobDim* dim_of(const KnobSpace& space, const std::string& key) {
  for (const KnobDim& d : space.dims())
    if (d.key == key) return &d;
  return nullptr;
}

std::string space_keys(const KnobSpace& space) {
  std::string out;
  for (const KnobDim& d : space.dims()) out += (out.empty() ? "" : ", ") + d.key;
  return out;
}

}  // namespace

nlohmann::json knob_document(const KnobSpace& space, const KnobSet& k) {
  nlohmann::json doc = nlohmann::json::object();
  for (const KnobDim& d : space.dims()) {
    auto it = k.find(d.key);
    if (it == k.end()) fail("knob set {}: missing knob '{}'", knob_set_text(k), d.key);
    doc[group_of(d.key)][d.key] = typed(it->second);
  }
  return doc;
}

KnobSet knob_set_from_document(const KnobSpace& space, const nlohmann::json& doc, const KnobSet& fill) {
  if (!doc.is_object()) fail("knob document: expected an object of groups, got {}", doc.type_name());
  KnobSet out = fill;
  for (const auto& [group, knobs] : doc.items()) {
    if (!knobs.is_object()) fail("knob document: group '{}' must be an object of knobs, got {}", group, knobs.type_name());
    for (const auto& [key, value] : knobs.items()) {
      if (!dim_of(space, key))
        fail("knob document: '{}/{}' is not a knob of this search (knobs: {})", group, key, space_keys(space));
      if (group_of(key) != group) fail("knob document: knob '{}' belongs in group '{}', not '{}'", key, group_of(key), group);
      out[key] = text_of(value, fmt::format("knob document: '{}/{}'", group, key));
    }
  }
  return out;
}

KnobSet knob_set_from_flat(const KnobSpace& space, const nlohmann::json& knobs, const KnobSet& fill) {
  if (!knobs.is_object()) fail("knobs: expected an object {{\"knob\": value}}, got {}", knobs.type_name());
  KnobSet out = fill;
  for (const auto& [key, value] : knobs.items()) {
    if (!dim_of(space, key)) fail("knobs: '{}' is not a knob of this search (knobs: {})", key, space_keys(space));
    out[key] = text_of(value, fmt::format("knobs: '{}'", key));
  }
  return out;
}

std::string knob_values_text(const KnobSpace& space) {
  std::string out;
  for (const KnobDim& d : space.dims()) {
    std::string values;
    for (const std::string& v : d.values) values += (values.empty() ? "" : ", ") + v;
    out += fmt::format("- {}/{}: {}\n", group_of(d.key), d.key, values);
  }
  return out;
}

}  // namespace tessera

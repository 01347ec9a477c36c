#include "search/kind_times.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "bench/stats.h"
#include "core/error.h"
#include "search/instruction_kinds.h"

namespace tessera {

namespace {

// Length of the union of [start, end) intervals.
double union_length(std::vector<std::pair<double, double>> iv) {
  std::sort(iv.begin(), iv.end());
  double total = 0, lo = 0, hi = 0;
  bool open = false;
  for (auto [a, b] : iv) {
    if (open && a <= hi) {
      hi = std::max(hi, b);
      continue;
    }
    if (open) total += hi - lo;
    lo = a;
    hi = b;
    open = true;
  }
  if (open) total += hi - lo;
  return total;
}

}  // namespace

std::map<std::string, double> kind_times_of(const Plan& plan, const std::vector<TaskSpan>& spans) {
  std::map<std::string, std::vector<std::pair<double, double>>> by_task_kind;
  std::vector<std::pair<double, double>> all;
  for (const TaskSpan& sp : spans) {
    if (sp.task < 0 || size_t(sp.task) >= plan.tasks.size())
      fail("kind times: a span names task {}, outside the plan's {} tasks", sp.task, plan.tasks.size());
    if (!(sp.end_s >= sp.start_s)) fail("kind times: task {} ends ({}) before it starts ({})", sp.task, sp.end_s, sp.start_s);
    by_task_kind[task_kind(plan, plan.tasks[size_t(sp.task)])].push_back({sp.start_s, sp.end_s});
    all.push_back({sp.start_s, sp.end_s});
  }
  std::map<std::string, double> out;
  for (const InstructionKind& k : instruction_kinds()) {
    if (k.covers.empty()) {
      out[k.name] = union_length(all);
      continue;
    }
    std::vector<std::pair<double, double>> iv;
    for (const std::string& tk : k.covers)
      if (auto it = by_task_kind.find(tk); it != by_task_kind.end()) iv.insert(iv.end(), it->second.begin(), it->second.end());
    out[k.name] = union_length(std::move(iv));
  }
  return out;
}

KindTimes summarize_kind_times(const std::vector<std::map<std::string, double>>& steps) {
  if (steps.empty()) fail("kind times: no traced steps to summarise");
  KindTimes out;
  for (const auto& [kind, _] : steps.front()) {
    std::vector<double> v;
    for (const auto& st : steps) {
      auto it = st.find(kind);
      if (it == st.end()) fail("kind times: a traced step has no time for kind '{}'", kind);
      v.push_back(it->second);
    }
    const Summary s = summarize(v);
    out[kind] = {s.median, s.median > 0 ? s.spread() : 0};
  }
  return out;
}

std::string kind_times_text(const KindTimes& k) {
  if (k.empty()) return "";
  std::string out = "kind times:";
  for (const auto& [kind, t] : k) out += fmt::format("{} {} {:.1f} us", out.back() == ':' ? "" : ",", kind, t.s * 1e6);
  return out;
}

nlohmann::json kind_times_to_json(const KindTimes& k) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [kind, t] : k) j[kind] = {{"s", t.s}, {"spread", t.spread}};
  return j;
}

KindTimes kind_times_from_json(const nlohmann::json& j) {
  KindTimes out;
  if (j.is_null()) return out;
  if (!j.is_object()) fail("kind times: expected an object of kinds, got {}", j.type_name());
  for (const auto& [kind, v] : j.items()) {
    if (!v.is_object() || !v.contains("s") || !v["s"].is_number() || (v.contains("spread") && !v["spread"].is_number()))
      fail("kind times: kind '{}' needs a number 's' (and optionally 'spread')", kind);
    out[kind] = {v["s"].get<double>(), v.value("spread", 0.0)};
  }
  return out;
}

}  // namespace tessera

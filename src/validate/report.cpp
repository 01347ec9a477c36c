// Rendering of a validation report: one line per diagnostic for people (MLIR style,
// "rule: location: message"), and JSON with every field for tools (the fuzzer, the search).
#include <fmt/format.h>

#include "validate/validate.h"

namespace tessera {

nlohmann::json ValidationReport::to_json() const {
  nlohmann::json errs = nlohmann::json::array();
  for (const Diagnostic& d : errors) {
    nlohmann::json e = {{"rule", d.rule}, {"message", d.message}, {"tasks", d.tasks}};
    if (d.counter >= 0) e["counter"] = d.counter;
    if (d.buffer >= 0) e["buffer"] = d.buffer;
    if (!d.cycle.empty()) e["cycle"] = d.cycle;
    errs.push_back(std::move(e));
  }
  return {{"ok", ok()},       {"tasks", tasks},     {"blocks", blocks}, {"counters", counters},
          {"buffers", buffers}, {"seconds", seconds}, {"errors", std::move(errs)}};
}

std::string ValidationReport::to_text() const {
  std::string s;
  for (const Diagnostic& d : errors) s += fmt::format("{}: {}\n", d.rule, d.message);
  s += fmt::format("{}: {} tasks, {} blocks, {} counters, {} buffers, checked in {:.3f} s\n",
                   ok() ? "accepted" : fmt::format("rejected ({} error{})", errors.size(), errors.size() == 1 ? "" : "s"),
                   tasks, blocks, counters, buffers, seconds);
  return s;
}

}  // namespace tessera

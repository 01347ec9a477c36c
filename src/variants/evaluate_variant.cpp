// static -> compile -> run (see evaluate_variant.h).
#include "variants/evaluate_variant.h"

#include "agents/variant_guard.h"

namespace tessera::variants {

namespace {

using nlohmann::json;

json skipped(const std::string& why) { return {{"verdict", "skipped"}, {"reason", why}}; }

}  // namespace

json evaluate_variant(const std::string& source, const VariantSpec& spec, const EvaluateOptions& options,
                      std::string* ptx) {
  json gates;
  const agents::GuardReport guard = agents::check_variant(source, guard_policy(spec));
  json findings = json::array();
  for (const agents::GuardFinding& f : guard.findings)
    findings.push_back({{"line", f.line}, {"rule", f.rule}, {"message", f.message}});
  gates["static"] = {{"verdict", guard.ok() ? "pass" : "reject"}, {"findings", findings}};

  CompileResult compiled;
  std::string why;
  if (!guard.ok()) {
    gates["compile"] = skipped("the static gate rejected the variant");
  } else if (!nvrtc_available(&why)) {
    gates["compile"] = {{"verdict", "unavailable"}, {"reason", why}};
  } else {
    compiled = compile_variant_isolated(source, spec, options.compile,
                                        IsolatedCompileOptions{options.run_gate.tessera_binary, options.compile_timeout_s});
    gates["compile"] = {{"verdict", compiled.ok ? "pass" : "reject"},
                        {"arch", compiled.arch},
                        {"seconds", compiled.seconds},
                        {"diagnostics", diagnostics_json(compiled.diagnostics)}};
  }

  if (compiled.ok && ptx) *ptx = compiled.ptx;
  if (!compiled.ok) {
    gates["run"] = skipped(guard.ok() && gates["compile"]["verdict"] == "unavailable" ? "nothing compiled to run"
                                                                                       : "an earlier gate rejected the variant");
  } else if (!options.run) {
    gates["run"] = skipped("not requested");
  } else {
    RunGateOptions run = options.run_gate;
    if (!options.timed) run.time_against.clear();
    else if (run.time_against.empty()) run.time_against = compiled.ptx;
    gates["run"] = run_gate(compiled.ptx, spec, run).to_json();
  }

  std::string verdict = "accepted";
  for (const char* g : {"static", "compile", "run"}) {
    const std::string v = gates[g]["verdict"];
    if (v == "reject") {
      verdict = "rejected";
      break;
    }
    if (v != "pass") verdict = "incomplete";
  }
  return {{"entry", spec.name}, {"verdict", verdict}, {"gates", gates}};
}

}  // namespace tessera::variants

// The validator's driver: a flat list of passes, as a compiler's pass manager runs them.
// Local checks run first and all of them report; the graph analyses run only on a plan
// whose structure, footprints and thresholds are sound, because they index by ids, trust
// declared regions and assume every wait can be met. Nothing is skipped by size: an
// accepted plan went through every pass.
#include "validate/validate.h"

#include <chrono>
#include <initializer_list>

#include "validate/passes.h"

namespace tessera {

ValidationReport validate_plan(const Plan& plan, const ValidateOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  ValidationReport report;
  report.tasks = plan.tasks.size();
  report.blocks = plan.queues.size();
  report.counters = plan.counters.size();
  report.buffers = plan.buffers.size();
  validate::Sink sink(options.max_errors);

  auto any = [&](std::initializer_list<const char*> rules) {
    for (const Diagnostic& d : sink.errors())
      for (const char* r : rules)
        if (d.rule == r) return true;
    return sink.full();
  };
  [&] {
    validate::check_structure(plan, sink);
    validate::check_resources(plan, sink);
    if (any({"structure"})) return;
    validate::check_footprints(plan, sink);
    validate::Facts facts = validate::derive_facts(plan);
    validate::check_satisfiable(plan, facts, sink);
    if (any({"footprint", "satisfiable"})) return;
    if (!validate::check_deadlock(plan, facts, sink)) return;
    validate::compute_clocks(plan, facts);
    validate::check_partial_thresholds(plan, facts, sink);
    validate::check_races(plan, facts, sink);
    validate::check_initialized(plan, facts, sink);
    validate::check_outputs(plan, sink);
  }();

  report.errors = std::move(sink.errors());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace tessera

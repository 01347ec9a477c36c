// The static validator: proves a plan well-formed, deadlock-free, race-free and complete
// before anything runs it (docs/SCHEDULE_IR.md, "Validity"). Backends refuse plans it
// rejects. Every diagnostic names the rule, the tasks (with their block and opcode), the
// counter or buffer region involved, and for a cycle the cycle itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/plan.h"

namespace tessera {

struct Diagnostic {
  // "structure", "footprint", "resources", "co-residency", "satisfiable", "deadlock",
  // "race", "partial-threshold", "uninitialized", "output"
  std::string rule;
  std::string message;          // one line, self-contained
  std::vector<int32_t> tasks;   // the tasks involved (first: the offender)
  int32_t counter = -1;
  int32_t buffer = -1;
  std::vector<int32_t> cycle;   // deadlock: task ids around the cycle
};

struct ValidationReport {
  std::vector<Diagnostic> errors;
  size_t tasks = 0, blocks = 0, counters = 0, buffers = 0;
  double seconds = 0;
  bool ok() const { return errors.empty(); }
  nlohmann::json to_json() const;
  std::string to_text() const;  // one diagnostic per line, then a summary line
};

struct ValidateOptions {
  size_t max_errors = 20;  // stop collecting after this many (never stops checking early
                           // when none have been found: an accepted plan was fully checked)
};

ValidationReport validate_plan(const Plan& plan, const ValidateOptions& options = {});

}  // namespace tessera

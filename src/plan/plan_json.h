// Plan <-> JSON (docs/SCHEDULE_IR.md). The reader is strict about structure and types and
// bounds every number (dimensions below 2^40, element counts below 2^48, counts bounded by
// the input size), so hostile files get a diagnostic, never a crash or a huge allocation.
// It does not judge whether the plan is safe: that is the validator's job.
#pragma once

#include <string>

#include "plan/plan.h"

namespace tessera {

// Throws tessera::Error naming `where` and the JSON path of the problem
// (e.g. "plan.json: tasks[12].waits[0].threshold: expected an integer, got string").
// A plan whose major version exceeds kPlanVersionMajor is refused with a message naming both.
Plan parse_plan_json(const std::string& text, const std::string& where);
Plan load_plan(const std::string& path);
std::string plan_to_json(const Plan& plan);  // deterministic; parse_plan_json round-trips it
void save_plan(const Plan& plan, const std::string& path);

}  // namespace tessera

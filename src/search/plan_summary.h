// A few lines on a lowered plan for an agent's prompt: how work is spread over the queues,
// what each opcode's tasks stream, and the critical path. The plan itself is not shown: a
// 1b plan is megabytes, far past any context window, and an agent editing knobs needs
// the shape of the schedule, not its task list. Bounded by the number of opcodes.
#pragma once

#include <cstdint>
#include <string>

#include "plan/plan.h"

namespace tessera {

std::string plan_summary(const Plan& plan, int64_t pos);

}  // namespace tessera

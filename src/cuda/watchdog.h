// Turning the megakernel's watchdog record into the user-facing diagnostic. Kept apart from
// the runtime so the message (which names the block, the task and its opcode, the counter
// by name, the value seen and the value needed) is testable without a GPU.
#pragma once

#include <string>

#include "cuda/device_plan.h"
#include "plan/plan.h"

namespace tessera::cuda {

// "watchdog: block 3 task 120 (attn_partial) waited 2.0 s on counter 'l0.kv.g1' (value 2,
// needs 3)". Indices outside the plan (a corrupted record) are printed as numbers only.
std::string watchdog_message(const Plan& plan, const WatchdogReport& r);

}  // namespace tessera::cuda

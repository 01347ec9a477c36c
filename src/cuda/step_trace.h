// One decode step of a PlanRunner recorded task by task on the GPU's global timer, turned
// into the emulator's trace events (so the same Chrome trace writer and the same stage
// summary serve both): what `tessera bench --trace` prints and writes.
#pragma once

#include <cstdint>
#include <string>

#include "cuda/runtime.h"
#include "emulate/trace_summary.h"

namespace tessera {

// Runs one step at `pos` with tracing on (then off again), writes a Chrome trace JSON to
// `path` when it is not empty, and returns the stage summary. Throws as PlanRunner::step.
StepTimeline trace_one_step(PlanRunner& runner, int64_t pos, const std::string& path);

}  // namespace tessera

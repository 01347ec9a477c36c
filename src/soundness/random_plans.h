// The suite's "random" class: plans the mutations would not make. Half are built from
// scratch (small matvec pipelines, at most 12 tasks so the oracle explores every schedule,
// then perturbed at random or left intact), half are heavy random edits of a lowered plan
// (several mutations stacked, plus order-preserving moves of tasks between blocks, which
// keep a plan safe and so measure false rejects).
#pragma once

#include <optional>

#include "plan/plan.h"
#include "soundness/rng.h"

namespace tessera::soundness {

Plan random_scratch_plan(Rng& rng);
std::optional<Plan> random_edits(const Plan& base, Rng& rng);
// Moves a task to another block at the place that keeps every queue in task-id (topological)
// order: a change of placement that cannot break a lowered plan.
std::optional<Plan> move_task_between_blocks(const Plan& base, Rng& rng);

}  // namespace tessera::soundness

// The tuner's PlanSource (structural_operators.h): a knob candidate's plan is lowered
// again with the run's settings (the same call the ladder makes, so the plan is the one
// that was evaluated), a whole-plan candidate's is read back from the store, where the
// loop records every whole plan it evaluates. The last few plans are kept, because a
// policy tends to expand the same leaders again and lowering a large model is not free.
#pragma once

#include "search/evaluate.h"
#include "search/store.h"
#include "search/structural_operators.h"

namespace tessera {

// The references must outlive the source.
PlanSource tuned_plan_source(const SearchTree& tree, const TuneStore& store, const KnobSpace& space,
                             const EvalSettings& es);

}  // namespace tessera

// The knob set as an LLM agent or an outside agent reads and edits it. Agents edit knob
// sets, not whole plans: a plan for a 1b model is megabytes of tasks, a knob set is a
// dozen values, and a knob set is verified on the small check shape by the same ladder as
// every built-in operator's candidate. The document groups the knobs by what they shape so
// the plan agent's anchors ("__improve__" members mark objects) can single out one concern:
//   {"tiles": {...rows per task...}, "attention": {"kv_splits": 0}, "schedule": {...}}
// Values are typed as LowerConfig::to_json writes them (numbers, booleans, strings).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "search/knob_space.h"

namespace tessera {

nlohmann::json knob_document(const KnobSpace& space, const KnobSet& k);

// The knob set a (possibly partial) grouped document describes, knobs it leaves out taken
// from `fill`. Throws tessera::Error naming the group or knob for an unknown group, a knob
// outside the space (or in the wrong group), or a value that is not a number, boolean or
// string. Whether the lowering accepts a value is the ladder's to say: a value it refuses
// makes a failed candidate the debug agent may repair.
KnobSet knob_set_from_document(const KnobSpace& space, const nlohmann::json& doc, const KnobSet& fill);

// The same from a flat object {"knob": value, ...} (what an outside agent sends).
KnobSet knob_set_from_flat(const KnobSpace& space, const nlohmann::json& knobs, const KnobSet& fill);

// One line per knob with the values the space offers, for prompts.
std::string knob_values_text(const KnobSpace& space);

}  // namespace tessera

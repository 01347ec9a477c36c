// A whole-plan candidate made by structural rewrites is recorded as a recipe: the knob set
// its lineage started from plus the rewrites applied since, each with the parameters that
// make it deterministic. A recipe re-derives the plan exactly (so a candidate left pending
// by a killed run is evaluated again without its plan having been stored) and replays the
// same rewrites on the small check shape, so a tuned model too large to emulate is still
// checked numerically the way knob candidates are: same knobs, same transformations, small
// model. JSON: {"knobs": {key: value}, "rewrites": [{"op": name, "seed": S, "pos": P}]}.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "plan/plan.h"
#include "search/knob_space.h"
#include "search/rewrite.h"

namespace tessera {

nlohmann::json recipe_from_knobs(const KnobSet& knobs);
nlohmann::json recipe_with(const nlohmann::json& recipe, const std::string& rewrite, const RewriteParams& rp);

struct RecipeReplay {
  Plan plan;
  int applied = 0;          // rewrites that changed the plan
  int total = 0;            // rewrites in the recipe
  std::string skipped;      // why the others did not apply (one line each)
};

// Lowers the recipe's knobs for `model` and applies its rewrites in order. strict: every
// rewrite must apply (re-deriving a recorded candidate) or this throws tessera::Error;
// otherwise rewrites with nothing to change on this model are skipped and listed.
RecipeReplay replay_recipe(const nlohmann::json& recipe, const KnobSpace& space, const ModelConfig& model,
                           const Target& target, int context, const std::string& label, bool strict);

}  // namespace tessera

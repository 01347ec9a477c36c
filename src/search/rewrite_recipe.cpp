// Replays go through apply_rewrite, so every intermediate plan is validated exactly as it
// was when the candidate was proposed; a recipe naming an unknown rewrite or holding
// malformed parameters is an error naming the field.
#include "search/rewrite_recipe.h"

#include <fmt/format.h>

#include "core/error.h"
#include "plan/lower.h"

namespace tessera {

nlohmann::json recipe_from_knobs(const KnobSet& knobs) {
  return {{"knobs", nlohmann::json(knobs)}, {"rewrites", nlohmann::json::array()}};
}

nlohmann::json recipe_with(const nlohmann::json& recipe, const std::string& rewrite, const RewriteParams& rp) {
  // A plan that came whole from elsewhere (an agent) has no recipe; nor do its children.
  if (!recipe.is_object()) return nullptr;
  nlohmann::json r = recipe;
  nlohmann::json step = rp.to_json();
  step["op"] = rewrite;
  r["rewrites"].push_back(step);
  return r;
}

RecipeReplay replay_recipe(const nlohmann::json& recipe, const KnobSpace& space, const ModelConfig& model,
                           const Target& target, int context, const std::string& label, bool strict) {
  if (!recipe.is_object() || !recipe.contains("knobs") || !recipe["knobs"].is_object() || !recipe.contains("rewrites") ||
      !recipe["rewrites"].is_array())
    fail("rewrite recipe: expected {{\"knobs\": {{...}}, \"rewrites\": [...]}}, got {}", recipe.dump());
  KnobSet knobs;
  for (const auto& [k, v] : recipe["knobs"].items()) {
    if (!v.is_string()) fail("rewrite recipe: knob '{}' must be a string, got {}", k, v.dump());
    knobs[k] = v.get<std::string>();
  }
  RecipeReplay out;
  out.plan = lower(model, target, space.to_config(knobs), context, label);
  for (const nlohmann::json& step : recipe["rewrites"]) {
    if (!step.is_object() || !step.contains("op") || !step["op"].is_string() || !step.contains("seed") ||
        !step["seed"].is_number_unsigned() || !step.contains("pos") || !step["pos"].is_number_integer())
      fail("rewrite recipe: step {} needs \"op\" (string), \"seed\" (unsigned) and \"pos\" (integer)", step.dump());
    RewriteParams rp;
    rp.seed = step["seed"].get<uint64_t>();
    rp.pos = step["pos"].get<int64_t>();
    const std::string op = step["op"].get<std::string>();
    out.total += 1;
    std::string why;
    auto r = apply_rewrite(op, out.plan, rp, &why);
    if (!r) {
      if (strict) fail("rewrite recipe: step {} ({}) does not re-apply: {}", out.total, op, why);
      out.skipped += why + "\n";
      continue;
    }
    out.plan = std::move(r->plan);
    out.applied += 1;
  }
  return out;
}

}  // namespace tessera

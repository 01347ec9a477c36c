// Structural variation operators: the rewrites of rewrite.h as VariationOperators. Unlike
// knob operators they need the parent's plan, which the tree does not hold (a tuned plan
// is megabytes; a run has hundreds of candidates), so they ask a PlanSource: the tuner's
// lowers a knob candidate again or reads a whole-plan candidate back from the store. A
// child is a whole plan (Proposal::plan) whose op_params hold the rewrite's parameters, what
// it changed, and the recipe that re-derives it (rewrite_recipe.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "search/operators.h"

namespace tessera {

struct ParentPlan {
  std::shared_ptr<const Plan> plan;
  nlohmann::json recipe;  // rewrite_recipe.h form
};
// nullopt when the candidate's plan cannot be had (then the operator proposes nothing).
using PlanSource = std::function<std::optional<ParentPlan>(int64_t candidate)>;

// One operator per rewrite (rewrite_names()), named like the rewrite. `pos`: the step
// position the tuner costs plans at.
std::shared_ptr<VariationOperator> make_rewrite_operator(const std::string& rewrite, PlanSource source, int64_t pos);
std::vector<std::shared_ptr<VariationOperator>> structural_operators(PlanSource source, int64_t pos);

// What the policies do with a chosen parent: a knob parent gets a structural child with
// probability `structural_chance` (when the set has structural operators), otherwise a
// knob mutation; a whole-plan parent can only get structural children (knob mutation needs
// knobs). Structural operators are tried in a seeded order until one has something to
// change; a knob parent falls back to mutation. nullopt: nothing applies to this parent.
inline constexpr double kStructuralChance = 0.3;
std::optional<Proposal> propose_child(const OperatorSet& ops, const SearchTree& tree, int64_t parent, SearchRng& rng,
                                      double structural_chance = kStructuralChance);
// Whether a policy may pick this node as a parent at all (ok, and knobs or structural ops).
bool can_have_children(const OperatorSet& ops, const TreeNode& n);

}  // namespace tessera

// Variation operators: each takes its parent candidate(s) and the tree and proposes one
// child, either as a knob set to lower or as a whole plan. Built-in operators work on knob
// sets; the LLM agents of the next issue are one more implementation of the same
// interface (they will return whole plans or knob sets), so the loop and the policies do
// not change when they arrive.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/plan.h"
#include "search/candidate_tree.h"
#include "search/knob_space.h"

namespace tessera {

struct Proposal {
  int64_t parent = -1;  // -1: a new root
  std::string op;
  nlohmann::json op_params = nlohmann::json::object();
  std::optional<KnobSet> knobs;        // lower these ...
  std::shared_ptr<const Plan> plan;    // ... or take this plan as it is
};

class VariationOperator {
 public:
  virtual ~VariationOperator() = default;
  virtual std::string name() const = 0;
  // parents[0] is the parent; operators that combine candidates (crossover) use the rest.
  // nullopt when the operator has nothing to propose from these parents.
  virtual std::optional<Proposal> propose(const SearchTree& tree, const std::vector<int64_t>& parents,
                                          SearchRng& rng) = 0;
};

// Changes 1 or 2 knobs of the parent (equal chance).
std::shared_ptr<VariationOperator> make_knob_mutation(const KnobSpace& space);
// Each knob from parents[0] or parents[1].
std::shared_ptr<VariationOperator> make_knob_crossover(const KnobSpace& space);
// A fresh uniform point of the space, attached under parents[0] (the root).
std::shared_ptr<VariationOperator> make_knob_sample(const KnobSpace& space);

// The operators a policy draws from; a policy uses the ones its method names. `structural`
// (structural_operators.h) rewrites the parent's plan; empty: knob operators only.
struct OperatorSet {
  std::shared_ptr<VariationOperator> mutate, crossover, sample;
  std::vector<std::shared_ptr<VariationOperator>> structural;
};
OperatorSet builtin_operators(const KnobSpace& space);

}  // namespace tessera

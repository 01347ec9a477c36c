// Mutation classes of the adversarial soundness suite: each takes a valid lowered plan and
// returns a plan broken in one specific way (or nullopt when the plan offers no place for
// it). Where the class is about ordering, declared regions are refreshed from footprint() so
// the validator cannot reject the plan merely for a footprint mismatch. Whether the result
// is really unsafe is the oracle's call, not the mutation's.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "soundness/rng.h"

namespace tessera::soundness {

using Mutation = std::optional<Plan> (*)(const Plan& base, Rng& rng);

struct MutationClass {
  std::string name;
  Mutation apply;
};

// Every class, in the order the suite cycles through them ("random" is not among them:
// random_plans.h).
const std::vector<MutationClass>& mutation_classes();

// Helpers shared by the mutations and the random plans.
void refresh_regions(Plan& plan, int32_t task);          // reads/writes := footprint()
void remove_task(Plan& plan, int32_t task);              // renumbers; keeps waits satisfiable
std::vector<int32_t> producers(const Plan& plan, int32_t counter);
std::vector<int32_t> consumers(const Plan& plan, int32_t counter);

}  // namespace tessera::soundness

// Hierarchical Pareto autotuning over the knob space, in the style of the STeP agent work:
// tune each instruction kind on its own into a Pareto set, then compose the sets.
//
// A round starts from a base candidate (the root, then each round's winner):
//  1. Fronts: every joint value of each kind's knobs (instruction_kinds.h) is evaluated
//     with all other knobs at the base ("pareto-kind:<kind>", parent: the base). The kinds
//     take turns, so a small budget still touches every kind. A kind's front is its ok
//     variations (the base included) that no other beats on time and on every resource
//     axis at once (pareto_axes()). The time is the kind's own (kind_times.h: the wall time
//     its tasks run within the step, from the cost model's timeline or the GPU's trace)
//     when the base and every member have it, else the whole-step cost (KindFront::axis).
//  2. Composition: starting from the base, kinds in order of their best member's gain over
//     the base (the largest first), each kind's front members that beat the base on the
//     front's time are merged into the incumbent, fastest first, at most tries_per_kind of them
//     ("pareto-compose", parent: the incumbent). A composition is kept only when it beats
//     the incumbent on the same cost kind beyond the noise (candidate_tree.h), so what a
//     round ends with is never worse than its base.
// When a round ends better than its base, the next round starts from its result (the kinds
// interact: a new gate/up tile moves the best block count); a round that ends at its base
// has converged and the policy has nothing new to propose.
//
// Everything is derived from the tree at every call, never kept in the policy: a resumed
// run, whose tree comes back from the store, continues exactly where the killed one
// stopped, and a knob set already in the tree (from any round or operator) is reused, not
// evaluated again.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "search/candidate_tree.h"
#include "search/instruction_kinds.h"
#include "search/knob_space.h"
#include "search/operators.h"

namespace tessera {

// What a policy that walks the knob space itself needs besides the operators.
struct PolicyContext {
  std::shared_ptr<const KnobSpace> space;
  ResourceProbe resources;
};

struct ParetoSettings {
  int tries_per_kind = 2;  // front members merged into the incumbent before the next kind
  // Fronts on each kind's own time where known; false: always on the whole step's (the
  // policy "pareto-step", for comparing the two axes).
  bool own_time = true;
};

// The resource axes of every front, in the order of ParetoMember::resources.
const std::vector<std::string>& pareto_axes();

struct ParetoMember {
  int64_t id = 0;
  double cost_s = 0;              // the whole step's
  KindTime time;                  // on the front's time axis (KindFront::axis)
  std::vector<double> resources;  // pareto_axes()
  KnobSet values;                 // the kind's knobs
};

struct KindFront {
  std::string kind;
  std::vector<std::string> knobs;     // the kind's knobs that the space searches
  int64_t variations = 0;             // joint values of those knobs, the base's included
  int64_t evaluated = 0;              // of them in the tree, any verdict
  // The front's time axis: "kind" (the kind's own time) or "step" (the whole step's cost,
  // when some member or the base has no kind time: a measurer that cannot trace).
  std::string axis;
  std::vector<ParetoMember> members;  // ok and comparable with the base; filled when every variation is in the tree
  std::vector<ParetoMember> front;    // the non-dominated members, fastest first
};

struct ParetoRound {
  int64_t base = 0;
  std::vector<KindFront> kinds;      // kinds whose knobs the space varies
  bool fronts_done = false;
  std::vector<int64_t> compositions;  // compositions this round evaluated, in order
  int64_t result = 0;                 // the incumbent: base, or the last composition kept
  bool done = false;
};

struct ParetoProgress {
  std::vector<ParetoRound> rounds;
  std::optional<Proposal> next;  // nullopt: converged (or no root yet)
};

// Throws tessera::Error when the context has no space or no probe, or the root is a whole
// plan (the policy searches knobs).
ParetoProgress pareto_progress(const SearchTree& tree, const PolicyContext& ctx, const ParetoSettings& s = {});

}  // namespace tessera

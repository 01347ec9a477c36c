// Search policies: given the tree, choose the parent(s) and the operator for the next
// candidate. One interface so the loop, the CLI and the efficiency experiment treat every
// policy alike; one file per policy (policy_<name>.cpp).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "search/candidate_tree.h"
#include "search/operators.h"
#include "search/pareto_search.h"

namespace tessera {

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string name() const = 0;
  // The next proposal, or nullopt when the policy has nothing left to try. The tree holds
  // at least the root (which may have failed).
  virtual std::optional<Proposal> next(const SearchTree& tree, SearchRng& rng) = 0;
};

// STARK's adapted epsilon-greedy tree search (policy_stark.cpp).
struct StarkSettings {
  double epsilon = 0.3;     // chance of exploring instead of expanding a leader
  int root_children = 5;    // root throttling: the root gets at most this many children
  int prune_after = 3;      // a node with this many failing children is a dead branch
  size_t leaders = 2;       // leaderboard size the greedy step picks from
  double leaf_weight = 3;   // exploration weight of a leaf against an inner node's 1
};
std::unique_ptr<Policy> make_stark_policy(OperatorSet ops, StarkSettings s = {});
// AVO-style evolution: lineage-aware parent choice, mutation and crossover (policy_evolve.cpp).
std::unique_ptr<Policy> make_evolve_policy(OperatorSet ops);
// Uniform samples of the space: the baseline (policy_random.cpp).
std::unique_ptr<Policy> make_random_policy(OperatorSet ops);
// Per-kind Pareto fronts composed upward (pareto_search.h, policy_pareto.cpp). Knob
// candidates only: it walks the space itself, so it draws on no operator. Its first
// proposal throws tessera::Error when ctx lacks the space or the resource probe.
std::unique_ptr<Policy> make_pareto_policy(PolicyContext ctx, ParetoSettings s = {});

// "stark", "evolve", "pareto", "pareto-step" (its fronts on the whole step's time) or "random"; throws tessera::Error listing them. ctx is what
// pareto needs (the others ignore it); without it a pareto policy can be made, to check
// the name, but not run.
std::unique_ptr<Policy> make_policy(const std::string& name, OperatorSet ops, PolicyContext ctx = {});
std::vector<std::string> policy_names();

}  // namespace tessera

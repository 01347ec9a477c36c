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

// "stark", "evolve" or "random"; throws tessera::Error listing them (pareto: not built).
std::unique_ptr<Policy> make_policy(const std::string& name, OperatorSet ops);
std::vector<std::string> policy_names();

}  // namespace tessera

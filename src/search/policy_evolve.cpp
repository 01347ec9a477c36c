// Evolution in the style of AVO: the population is every ok candidate; a parent is chosen
// by a tournament of three on cost, where each candidate's cost is inflated by how crowded
// its lineage (its branch under the root) already is, so one lucky branch cannot absorb
// every evaluation. Children are mutations, or (30%) crossovers with the best member of
// another lineage, so good settings found on separate branches can meet; one in ten
// proposals is a fresh sample that may found a new lineage. Structural operators, when the
// set has them, take part through propose_child (whole-plan members get only those).
#include <cmath>
#include <map>

#include "search/policy.h"
#include "search/structural_operators.h"

namespace tessera {

namespace {

class EvolvePolicy : public Policy {
 public:
  explicit EvolvePolicy(OperatorSet ops) : ops_(std::move(ops)) {}
  std::string name() const override { return "evolve"; }

  std::optional<Proposal> next(const SearchTree& tree, SearchRng& rng) override {
    auto root = tree.root();
    if (!root) return std::nullopt;
    std::vector<int64_t> pop;
    std::map<int64_t, int> crowd;         // lineage -> candidates in it
    std::map<int64_t, int64_t> champion;  // lineage -> its best ok candidate
    for (int64_t id : tree.ids()) {
      const TreeNode& n = tree.node(id);
      int64_t lin = tree.lineage(id);
      crowd[lin] += 1;
      if (!can_have_children(ops_, n)) continue;
      pop.push_back(id);
      auto it = champion.find(lin);
      if (it == champion.end() || n.cost_s < tree.node(it->second).cost_s) champion[lin] = id;
    }
    if (pop.empty() || rng.chance(0.1)) return ops_.sample->propose(tree, {*root}, rng);
    auto fitness = [&](int64_t id) {
      return tree.node(id).cost_s * (1 + 0.05 * std::log2(1.0 + crowd[tree.lineage(id)]));
    };
    int64_t parent = pop[size_t(rng.below(pop.size()))];
    for (int i = 1; i < 3; ++i) {
      int64_t c = pop[size_t(rng.below(pop.size()))];
      if (fitness(c) < fitness(parent)) parent = c;
    }
    if (champion.size() >= 2 && tree.node(parent).has_knobs && rng.chance(0.3)) {
      // Crossover mixes knob sets: only knob candidates can be mates.
      std::vector<int64_t> mates;
      for (auto [lin, best] : champion)
        if (lin != tree.lineage(parent) && tree.node(best).has_knobs) mates.push_back(best);
      if (!mates.empty()) return ops_.crossover->propose(tree, {parent, mates[size_t(rng.below(mates.size()))]}, rng);
    }
    if (auto p = propose_child(ops_, tree, parent, rng)) return p;
    return ops_.sample->propose(tree, {*root}, rng);
  }

 private:
  OperatorSet ops_;
};

}  // namespace

std::unique_ptr<Policy> make_evolve_policy(OperatorSet ops) { return std::make_unique<EvolvePolicy>(std::move(ops)); }

}  // namespace tessera

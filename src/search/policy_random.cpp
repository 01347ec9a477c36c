// The baseline every other policy must beat: independent uniform samples of the knob
// space, each a child of the root (so the tree stays flat and lineage means nothing).
// Also home of make_policy, the one place names map to policies.
#include "core/error.h"
#include "search/policy.h"

#include <fmt/format.h>

namespace tessera {

namespace {

class RandomPolicy : public Policy {
 public:
  explicit RandomPolicy(OperatorSet ops) : ops_(std::move(ops)) {}
  std::string name() const override { return "random"; }
  std::optional<Proposal> next(const SearchTree& tree, SearchRng& rng) override {
    auto root = tree.root();
    if (!root) return std::nullopt;
    return ops_.sample->propose(tree, {*root}, rng);
  }

 private:
  OperatorSet ops_;
};

}  // namespace

std::unique_ptr<Policy> make_random_policy(OperatorSet ops) { return std::make_unique<RandomPolicy>(std::move(ops)); }

std::vector<std::string> policy_names() { return {"stark", "evolve", "pareto", "pareto-step", "random"}; }

std::unique_ptr<Policy> make_policy(const std::string& name, OperatorSet ops, PolicyContext ctx) {
  if (name == "stark") return make_stark_policy(std::move(ops));
  if (name == "evolve") return make_evolve_policy(std::move(ops));
  if (name == "pareto") return make_pareto_policy(std::move(ctx));
  if (name == "pareto-step") return make_pareto_policy(std::move(ctx), ParetoSettings{.own_time = false});
  if (name == "random") return make_random_policy(std::move(ops));
  fail("unknown policy '{}' (available: {})", name, fmt::join(policy_names(), ", "));
}

}  // namespace tessera

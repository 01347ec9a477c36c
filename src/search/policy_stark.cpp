// STARK's adapted epsilon-greedy over the candidate tree. With probability 1 - epsilon the
// next parent is one of the leaderboard's top nodes (exploit), otherwise any live node,
// leaves weighted above inner nodes (explore: leaves are where untried directions are).
// Two rules keep it from wasting evaluations: the root is throttled (at most five direct
// children, so the search deepens promising branches instead of restarting from scratch),
// and a node whose children failed three times is a dead branch and no longer chosen.
// A failure is a child the ladder rejected (validator, emulator, build, run), as in STARK;
// a correct but slower child is not one (the greedy step already moves past it). When no
// node is live the policy samples fresh points under the root while throttling allows,
// then reports that it has nothing left. With structural operators in the set, a chosen
// parent gets a structural child some of the time, and whole-plan nodes (no knobs) are
// expanded by structural operators only (structural_operators.h, propose_child).
#include "search/policy.h"
#include "search/structural_operators.h"

namespace tessera {

namespace {

class StarkPolicy : public Policy {
 public:
  StarkPolicy(OperatorSet ops, StarkSettings s) : ops_(std::move(ops)), s_(s) {}
  std::string name() const override { return "stark"; }

  std::optional<Proposal> next(const SearchTree& tree, SearchRng& rng) override {
    auto root = tree.root();
    if (!root) return std::nullopt;
    auto throttled = [&](int64_t id) { return id == *root && int(tree.node(id).children.size()) >= s_.root_children; };
    auto live = [&](int64_t id) {
      const TreeNode& n = tree.node(id);
      return can_have_children(ops_, n) && !throttled(id) && tree.failing_children(id) < s_.prune_after;
    };
    std::vector<int64_t> pool;
    if (!rng.chance(s_.epsilon)) {
      for (int64_t id : tree.leaders(s_.leaders))
        if (live(id)) pool.push_back(id);
    }
    std::optional<int64_t> parent;
    if (!pool.empty()) {
      parent = pool[size_t(rng.below(pool.size()))];
    } else {
      parent = explore(tree, rng, live);
    }
    // A whole-plan parent no rewrite applies to has no child to give; explore elsewhere.
    for (int tries = 0; parent && tries < 8; ++tries) {
      if (auto p = propose_child(ops_, tree, *parent, rng)) return p;
      parent = explore(tree, rng, live);
    }
    // Nothing live to expand: fresh points under the root while it may take them.
    if (throttled(*root)) return std::nullopt;
    return ops_.sample->propose(tree, {*root}, rng);
  }

 private:
  template <typename Pred>
  std::optional<int64_t> explore(const SearchTree& tree, SearchRng& rng, Pred ok) {
    std::vector<std::pair<int64_t, double>> w;
    double total = 0;
    for (int64_t id : tree.ids()) {
      if (!ok(id)) continue;
      double weight = tree.node(id).children.empty() ? s_.leaf_weight : 1.0;
      w.push_back({id, weight});
      total += weight;
    }
    if (w.empty()) return std::nullopt;
    double r = double(rng.next() >> 11) * 0x1.0p-53 * total;
    for (auto [id, weight] : w) {
      if (r < weight) return id;
      r -= weight;
    }
    return w.back().first;
  }

  OperatorSet ops_;
  StarkSettings s_;
};

}  // namespace

std::unique_ptr<Policy> make_stark_policy(OperatorSet ops, StarkSettings s) {
  return std::make_unique<StarkPolicy>(std::move(ops), s);
}

}  // namespace tessera

// The knob operators record what they did in op_params (which knobs changed, the mate of a
// crossover) so a report can show the winner's lineage step by step.
#include "search/operators.h"

#include "core/error.h"

namespace tessera {

namespace {

const KnobSet& parent_knobs(const SearchTree& tree, const std::vector<int64_t>& parents, size_t i, const char* op) {
  if (parents.size() <= i) fail("operator {}: needs {} parent(s)", op, i + 1);
  const TreeNode& n = tree.node(parents[i]);
  if (!n.has_knobs) fail("operator {}: candidate {} is a whole plan, not a knob set", op, n.id);
  return n.knobs;
}

class KnobMutation : public VariationOperator {
 public:
  explicit KnobMutation(KnobSpace space) : space_(std::move(space)) {}
  std::string name() const override { return "mutate"; }
  std::optional<Proposal> propose(const SearchTree& tree, const std::vector<int64_t>& parents, SearchRng& rng) override {
    const KnobSet& from = parent_knobs(tree, parents, 0, "mutate");
    const int changes = rng.chance(0.5) ? 1 : 2;
    KnobSet to = space_.mutate(from, rng, changes);
    Proposal p;
    p.parent = parents[0];
    p.op = name();
    nlohmann::json changed = nlohmann::json::object();
    for (const auto& [k, v] : to)
      if (!from.count(k) || from.at(k) != v) changed[k] = v;
    p.op_params = {{"changed", changed}};
    p.knobs = std::move(to);
    return p;
  }

 private:
  KnobSpace space_;
};

class KnobCrossover : public VariationOperator {
 public:
  explicit KnobCrossover(KnobSpace space) : space_(std::move(space)) {}
  std::string name() const override { return "crossover"; }
  std::optional<Proposal> propose(const SearchTree& tree, const std::vector<int64_t>& parents, SearchRng& rng) override {
    const KnobSet& a = parent_knobs(tree, parents, 0, "crossover");
    const KnobSet& b = parent_knobs(tree, parents, 1, "crossover");
    Proposal p;
    p.parent = parents[0];
    p.op = name();
    p.op_params = {{"mate", parents[1]}};
    p.knobs = space_.crossover(a, b, rng);
    return p;
  }

 private:
  KnobSpace space_;
};

class KnobSample : public VariationOperator {
 public:
  explicit KnobSample(KnobSpace space) : space_(std::move(space)) {}
  std::string name() const override { return "sample"; }
  std::optional<Proposal> propose(const SearchTree&, const std::vector<int64_t>& parents, SearchRng& rng) override {
    Proposal p;
    p.parent = parents.empty() ? -1 : parents[0];
    p.op = name();
    p.knobs = space_.sample(rng);
    return p;
  }

 private:
  KnobSpace space_;
};

}  // namespace

std::shared_ptr<VariationOperator> make_knob_mutation(const KnobSpace& space) { return std::make_shared<KnobMutation>(space); }
std::shared_ptr<VariationOperator> make_knob_crossover(const KnobSpace& space) { return std::make_shared<KnobCrossover>(space); }
std::shared_ptr<VariationOperator> make_knob_sample(const KnobSpace& space) { return std::make_shared<KnobSample>(space); }

OperatorSet builtin_operators(const KnobSpace& space) {
  return {make_knob_mutation(space), make_knob_crossover(space), make_knob_sample(space), {}};
}

}  // namespace tessera

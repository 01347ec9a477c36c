// A rewrite draws its seed from the search's generator, so a run's seed reproduces every
// structural child; the operator validates through apply_rewrite and proposes nothing for a
// rejected or unchanged plan, so the loop never sees an invalid structural candidate.
#include "search/structural_operators.h"

#include "core/error.h"
#include "search/rewrite_recipe.h"

namespace tessera {

namespace {

class RewriteOperator : public VariationOperator {
 public:
  RewriteOperator(std::string rewrite, PlanSource source, int64_t pos)
      : rewrite_(std::move(rewrite)), source_(std::move(source)), pos_(pos) {}
  std::string name() const override { return rewrite_; }
  std::optional<Proposal> propose(const SearchTree&, const std::vector<int64_t>& parents, SearchRng& rng) override {
    if (parents.empty()) fail("operator {}: needs a parent", rewrite_);
    std::optional<ParentPlan> from = source_(parents[0]);
    if (!from || !from->plan) return std::nullopt;
    RewriteParams rp;
    rp.seed = rng.next() >> 1;
    rp.pos = pos_;
    auto r = apply_rewrite(rewrite_, *from->plan, rp);
    if (!r) return std::nullopt;
    Proposal p;
    p.parent = parents[0];
    p.op = rewrite_;
    p.op_params = {{"rewrite", rp.to_json()}, {"detail", r->detail}, {"recipe", recipe_with(from->recipe, rewrite_, rp)}};
    p.plan = std::make_shared<const Plan>(std::move(r->plan));
    return p;
  }

 private:
  std::string rewrite_;
  PlanSource source_;
  int64_t pos_;
};

}  // namespace

std::shared_ptr<VariationOperator> make_rewrite_operator(const std::string& rewrite, PlanSource source, int64_t pos) {
  bool known = false;
  for (const std::string& n : rewrite_names()) known |= n == rewrite;
  if (!known) fail("unknown rewrite '{}'", rewrite);
  return std::make_shared<RewriteOperator>(rewrite, std::move(source), pos);
}

std::vector<std::shared_ptr<VariationOperator>> structural_operators(PlanSource source, int64_t pos) {
  std::vector<std::shared_ptr<VariationOperator>> out;
  for (const std::string& n : rewrite_names()) out.push_back(make_rewrite_operator(n, source, pos));
  return out;
}

bool can_have_children(const OperatorSet& ops, const TreeNode& n) {
  return n.status == CandidateStatus::Ok && (n.has_knobs || !ops.structural.empty());
}

std::optional<Proposal> propose_child(const OperatorSet& ops, const SearchTree& tree, int64_t parent, SearchRng& rng,
                                      double structural_chance) {
  const TreeNode& n = tree.node(parent);
  const bool structural = !ops.structural.empty() && (!n.has_knobs || rng.chance(structural_chance));
  if (structural) {
    std::vector<size_t> idx(ops.structural.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[size_t(rng.below(i))]);
    for (size_t i : idx)
      if (auto p = ops.structural[i]->propose(tree, {parent}, rng)) return p;
  }
  if (!n.has_knobs) return std::nullopt;
  return ops.mutate->propose(tree, {parent}, rng);
}

}  // namespace tessera

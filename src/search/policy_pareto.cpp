// The Pareto policy is a thin shell over pareto_progress: the replay in pareto_search.cpp
// decides every proposal from the tree alone, so this class holds no search state and a
// resumed run needs nothing but its tree. It ignores the rng: its order is fixed by the
// space (a seed reproduces any run trivially, and every seed runs the same one).
#include "search/policy.h"

namespace tessera {

namespace {

class ParetoPolicy : public Policy {
 public:
  ParetoPolicy(PolicyContext ctx, ParetoSettings s) : ctx_(std::move(ctx)), s_(s) {}
  std::string name() const override { return s_.own_time ? "pareto" : "pareto-step"; }
  std::optional<Proposal> next(const SearchTree& tree, SearchRng&) override { return pareto_progress(tree, ctx_, s_).next; }

 private:
  PolicyContext ctx_;
  ParetoSettings s_;
};

}  // namespace

std::unique_ptr<Policy> make_pareto_policy(PolicyContext ctx, ParetoSettings s) {
  return std::make_unique<ParetoPolicy>(std::move(ctx), s);
}

}  // namespace tessera

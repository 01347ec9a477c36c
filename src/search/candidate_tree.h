// The search tree as policies see it: every evaluated candidate with its parent, verdict
// and cost, rebuilt from the store on resume. Policies read it; only the loop adds to it.
// "Better" between two costs is one function (faster_beyond_noise) so no policy can
// compare a measured and a predicted cost, or call a difference inside the noise a win.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "search/kind_times.h"
#include "search/knob_space.h"
#include "search/store.h"

namespace tessera {

struct TreeNode {
  int64_t id = 0;
  int64_t parent = -1;
  std::string op;
  bool has_knobs = false;  // false: the operator proposed a whole plan
  KnobSet knobs;
  CandidateStatus status = CandidateStatus::Pending;
  double cost_s = 0;
  double spread = 0;
  CostKind cost_kind = CostKind::None;
  std::vector<int64_t> children;
  int depth = 0;
  std::string plan_hash;  // content_hash of the evaluated plan's JSON; empty: none (lowering failed)
  KindTimes kinds;        // per instruction kind, of cost_kind (kind_times.h); empty: unknown
};

// Whether cost a is lower than cost b beyond the noise: predicted costs are exact (any
// lower value wins); measured costs must be apart by more than half of each one's spread
// (relative (p90 - p10) / median) added together. Different kinds never compare: throws.
bool faster_beyond_noise(double a_s, double a_spread, CostKind a_kind, double b_s, double b_spread, CostKind b_kind);

// The best a run keeps, replayed over its candidates in id order: the first ok one with a
// cost, then each that is faster beyond the noise than the best so far (costs of another
// kind never replace it). The loop keeps exactly this one as it runs, so a resumed run and
// the report name the candidate the loop wrote to best_plan.json. at(i), i < n, is the i-th
// candidate in id order (a TreeNode or a CandidateRecord); returns the kept one's i.
template <class At>
std::optional<size_t> kept_best(size_t n, At at) {
  std::optional<size_t> best;
  for (size_t i = 0; i < n; ++i) {
    const auto& c = at(i);
    if (c.status != CandidateStatus::Ok || c.cost_kind == CostKind::None) continue;
    if (!best) {
      best = i;
      continue;
    }
    const auto& b = at(*best);
    if (b.cost_kind == c.cost_kind && faster_beyond_noise(c.cost_s, c.spread, c.cost_kind, b.cost_s, b.spread, b.cost_kind))
      best = i;
  }
  return best;
}

class SearchTree;
// kept_best over a tree's nodes in insertion order: the id of the best the loop keeps.
std::optional<int64_t> kept_best_id(const SearchTree& tree);

class SearchTree {
 public:
  // Adds a node; its parent (unless -1) must be in the tree. Throws tessera::Error otherwise.
  void add(TreeNode n);
  bool has(int64_t id) const;
  const TreeNode& node(int64_t id) const;
  const std::vector<int64_t>& ids() const { return order_; }  // in insertion order
  size_t size() const { return order_.size(); }
  std::optional<int64_t> root() const;  // the first node without a parent

  std::optional<int64_t> best() const;            // the ok node with the lowest cost
  std::vector<int64_t> leaders(size_t k) const;   // the k best ok nodes, best first
  // A candidate that failed the ladder (any status but ok and pending), as STARK counts
  // failures for dead-branch pruning; a slower but correct child is not a failure.
  bool failed_child(int64_t id) const;
  int failing_children(int64_t id) const;
  bool improved_on_parent(int64_t id) const;  // ok and faster than its (ok) parent
  bool seen(const KnobSet& k) const { return seen_.count(knob_set_text(k)) != 0; }
  // A plan some node already evaluated (whole-plan proposals are deduplicated by it; two
  // knob sets that lower to one plan are not, since their knobs differ for the operators).
  bool seen_plan(const std::string& hash) const { return seen_plans_.count(hash) != 0; }
  // The ancestor just below the root (the node itself when it is a root child or a root).
  int64_t lineage(int64_t id) const;

 private:
  std::vector<TreeNode> nodes_;
  std::vector<int64_t> order_;
  std::vector<int64_t> index_;  // id -> position in nodes_ (ids are small positive integers)
  std::set<std::string> seen_;
  std::set<std::string> seen_plans_;
};

}  // namespace tessera

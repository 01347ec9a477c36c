// Nodes are kept in a vector indexed through an id table: ids come from SQLite's rowids
// (dense, increasing), and a run holds thousands of nodes at most, so no map is needed.
#include "search/candidate_tree.h"

#include <algorithm>

#include "core/error.h"

namespace tessera {

bool faster_beyond_noise(double a_s, double a_spread, CostKind a_kind, double b_s, double b_spread, CostKind b_kind) {
  if (a_kind != b_kind || a_kind == CostKind::None)
    fail("cannot compare a {} cost with a {} cost", cost_kind_name(a_kind).empty() ? "missing" : cost_kind_name(a_kind),
         cost_kind_name(b_kind).empty() ? "missing" : cost_kind_name(b_kind));
  if (a_kind == CostKind::Predicted) return a_s < b_s;
  return a_s * (1 + a_spread / 2) < b_s * (1 - b_spread / 2);
}

void SearchTree::add(TreeNode n) {
  if (n.id <= 0) fail("search tree: candidate id {} must be positive", n.id);
  if (has(n.id)) fail("search tree: candidate {} added twice", n.id);
  if (n.parent >= 0 && !has(n.parent)) fail("search tree: candidate {} names parent {} which is not in the tree", n.id, n.parent);
  n.children.clear();
  n.depth = n.parent >= 0 ? node(n.parent).depth + 1 : 0;
  if (size_t(n.id) >= index_.size()) index_.resize(size_t(n.id) + 1, -1);
  index_[size_t(n.id)] = int64_t(nodes_.size());
  if (n.parent >= 0) nodes_[size_t(index_[size_t(n.parent)])].children.push_back(n.id);
  if (n.has_knobs) seen_.insert(knob_set_text(n.knobs));
  if (!n.plan_hash.empty()) seen_plans_.insert(n.plan_hash);
  order_.push_back(n.id);
  nodes_.push_back(std::move(n));
}

bool SearchTree::has(int64_t id) const { return id > 0 && size_t(id) < index_.size() && index_[size_t(id)] >= 0; }

const TreeNode& SearchTree::node(int64_t id) const {
  if (!has(id)) fail("search tree: no candidate {}", id);
  return nodes_[size_t(index_[size_t(id)])];
}

std::optional<int64_t> SearchTree::root() const {
  for (int64_t id : order_)
    if (node(id).parent < 0) return id;
  return std::nullopt;
}

std::vector<int64_t> SearchTree::leaders(size_t k) const {
  std::vector<int64_t> ok;
  for (int64_t id : order_)
    if (node(id).status == CandidateStatus::Ok) ok.push_back(id);
  // Ties go to the earlier candidate: a later one must be faster to displace it.
  std::stable_sort(ok.begin(), ok.end(), [&](int64_t a, int64_t b) { return node(a).cost_s < node(b).cost_s; });
  if (ok.size() > k) ok.resize(k);
  return ok;
}

std::optional<int64_t> SearchTree::best() const {
  auto l = leaders(1);
  if (l.empty()) return std::nullopt;
  return l[0];
}

bool SearchTree::improved_on_parent(int64_t id) const {
  const TreeNode& n = node(id);
  if (n.status != CandidateStatus::Ok) return false;
  if (n.parent < 0) return true;
  const TreeNode& p = node(n.parent);
  if (p.status != CandidateStatus::Ok || p.cost_kind != n.cost_kind) return true;
  return faster_beyond_noise(n.cost_s, n.spread, n.cost_kind, p.cost_s, p.spread, p.cost_kind);
}

bool SearchTree::failed_child(int64_t id) const {
  CandidateStatus s = node(id).status;
  return s != CandidateStatus::Ok && s != CandidateStatus::Pending;
}

int SearchTree::failing_children(int64_t id) const {
  int n = 0;
  for (int64_t c : node(id).children) n += failed_child(c);
  return n;
}

int64_t SearchTree::lineage(int64_t id) const {
  int64_t cur = id;
  while (node(cur).parent >= 0 && node(node(cur).parent).parent >= 0) cur = node(cur).parent;
  return cur;
}

std::optional<int64_t> kept_best_id(const SearchTree& tree) {
  const std::vector<int64_t>& ids = tree.ids();
  if (const std::optional<size_t> i = kept_best(ids.size(), [&](size_t k) -> const TreeNode& { return tree.node(ids[k]); }))
    return ids[*i];
  return std::nullopt;
}

}  // namespace tessera

// Leaders are the tree's own ranking (SearchTree::leaders), so the agents' "best elsewhere"
// is the leaderboard the policy exploits; a node's subtree is found by walking parents.
#include "search/agent_tree_view.h"

#include <fmt/format.h>

#include "core/error.h"

namespace tessera {

SearchTreeView::SearchTreeView(const SearchTree& tree, Content content, CandidateLookup lookup, size_t max_notes)
    : tree_(tree), content_(std::move(content)), lookup_(std::move(lookup)), max_notes_(max_notes) {}

agents::NodeId SearchTreeView::root() const {
  auto r = tree_.root();
  if (!r) fail("the search tree is empty");
  return *r;
}

agents::NodeRecord SearchTreeView::node(agents::NodeId id) const {
  if (!tree_.has(id)) fail("the search tree has no candidate {}", id);
  const TreeNode& n = tree_.node(id);
  agents::NodeRecord r;
  r.id = id;
  if (n.parent >= 0) r.parent = n.parent;
  r.operator_name = n.op;
  r.status = status_name(n.status);
  if (n.status == CandidateStatus::Ok) {
    r.cost_s = n.cost_s;
    r.cost_predicted = n.cost_kind == CostKind::Predicted;
  }
  try {
    r.content = content_(n);
  } catch (const Error& e) {
    r.content = fmt::format("(not shown: {})", e.what());  // e.g. a whole plan among knob sets
  }
  if (lookup_) {
    if (auto c = lookup_(id)) {
      r.notes = c->log;
      if (r.notes.size() > max_notes_) r.notes = r.notes.substr(0, max_notes_) + " [... cut]";
    }
  }
  return r;
}

std::vector<agents::NodeId> SearchTreeView::children(agents::NodeId id) const {
  if (!tree_.has(id)) fail("the search tree has no candidate {}", id);
  return tree_.node(id).children;
}

std::vector<agents::NodeId> SearchTreeView::leaders_outside(agents::NodeId id, int r) const {
  auto inside = [&](int64_t n) {
    for (int64_t a = n; a >= 0; a = tree_.node(a).parent)
      if (a == id) return true;
    return false;
  };
  std::vector<agents::NodeId> out;
  for (int64_t l : tree_.leaders(tree_.size())) {
    if (int(out.size()) >= r) break;
    if (!inside(l)) out.push_back(l);
  }
  return out;
}

}  // namespace tessera

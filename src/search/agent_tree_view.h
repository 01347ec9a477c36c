// The search tree as the LLM agents see it (agents::TreeView over SearchTree): each node's
// content is what the agents edit (the subject's: a knob document, a variant's source), its
// notes the ladder's log from the store. Logs are cut to a bounded length so five historical nodes cannot blow a prompt up.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "agents/tree_view.h"
#include "search/candidate_tree.h"
#include "search/store.h"

namespace tessera {

using CandidateLookup = std::function<std::optional<CandidateRecord>(int64_t id)>;

class SearchTreeView : public agents::TreeView {
 public:
  using Content = std::function<std::string(const TreeNode&)>;  // throws for a node it cannot show
  SearchTreeView(const SearchTree& tree, Content content, CandidateLookup lookup, size_t max_notes = 1200);
  agents::NodeId root() const override;
  agents::NodeRecord node(agents::NodeId id) const override;
  std::vector<agents::NodeId> children(agents::NodeId id) const override;
  std::vector<agents::NodeId> leaders_outside(agents::NodeId id, int r) const override;

 private:
  const SearchTree& tree_;
  Content content_;
  CandidateLookup lookup_;
  size_t max_notes_;
};

}  // namespace tessera

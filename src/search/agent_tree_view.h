// The search tree as the LLM agents see it (agents::TreeView over SearchTree): each node's
// content is its knob document (knob_document.h), its notes the ladder's log from the
// store. Logs are cut to a bounded length so five historical nodes cannot blow a prompt up.
#pragma once

#include <functional>
#include <optional>

#include "agents/tree_view.h"
#include "search/candidate_tree.h"
#include "search/knob_space.h"
#include "search/store.h"

namespace tessera {

using CandidateLookup = std::function<std::optional<CandidateRecord>(int64_t id)>;

class SearchTreeView : public agents::TreeView {
 public:
  SearchTreeView(const SearchTree& tree, const KnobSpace& space, CandidateLookup lookup, size_t max_notes = 1200);
  agents::NodeId root() const override;
  agents::NodeRecord node(agents::NodeId id) const override;
  std::vector<agents::NodeId> children(agents::NodeId id) const override;
  std::vector<agents::NodeId> leaders_outside(agents::NodeId id, int r) const override;

 private:
  const SearchTree& tree_;
  const KnobSpace& space_;
  CandidateLookup lookup_;
  size_t max_notes_;
};

}  // namespace tessera

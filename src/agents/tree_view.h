// What the agents need to see of the search tree, and no more. The search store (another
// layer) implements TreeView over its database; the agents build their context windows
// from it without knowing how candidates are stored. Siblings and cousins are derived here
// from parent and children so every implementation agrees on what they mean.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tessera::agents {

using NodeId = int64_t;

// One candidate as an agent sees it.
struct NodeRecord {
  NodeId id = 0;
  std::optional<NodeId> parent;  // nullopt for the root
  std::string operator_name;     // what produced it ("root", "knob_mutation", "llm_code", ...)
  std::string status;            // "ok", "rejected", "incorrect", "build_failed", "run_failed", ...
  std::optional<double> cost_s;  // step time in seconds; nullopt when never costed
  bool cost_predicted = false;   // true: an analytical prediction, not a measurement
  std::string content;           // the plan JSON or variant source, as the agent should read it
  std::string notes;             // diagnostics and log excerpts
};

class TreeView {
 public:
  virtual ~TreeView() = default;
  virtual NodeId root() const = 0;
  virtual NodeRecord node(NodeId id) const = 0;               // throws tessera::Error for an unknown id
  virtual std::vector<NodeId> children(NodeId id) const = 0;  // in creation order
  // The best `r` nodes by the search's own ranking that are neither `id` nor below it.
  virtual std::vector<NodeId> leaders_outside(NodeId id, int r) const = 0;
};

// The other children of `id`'s parent (none for the root).
std::vector<NodeId> siblings(const TreeView& tree, NodeId id);
// The children of `id`'s siblings.
std::vector<NodeId> cousins(const TreeView& tree, NodeId id);

}  // namespace tessera::agents

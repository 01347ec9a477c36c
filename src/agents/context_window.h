// Role-specific context windows, as STARK defines them: each agent sees the node it works
// on and the root (the unoptimised baseline), plus a few historical nodes chosen for its
// job. The planner sees the node's children (what was already tried from here) and the
// top-r leaders outside its subtree (what works elsewhere); the coder sees the children
// and the cousins (children of its siblings: how similar edits were realised); the
// debugger sees the siblings (alternatives to the failed attempt). At most `max_history`
// historical nodes each; when there are more, a seeded sample keeps prompts bounded and
// runs reproducible.
#pragma once

#include "agents/llm_config.h"
#include "agents/tree_view.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::agents {

struct ContextEntry {
  std::string relation;  // "child" | "leader" | "cousin" | "sibling"
  NodeRecord node;
};

struct ContextWindow {
  AgentRole role = AgentRole::Plan;
  NodeRecord node;
  NodeRecord root;
  std::vector<ContextEntry> history;  // ordered by relation, then id
  int candidates = 0;                 // historical nodes available before sampling
};

struct ContextOptions {
  int max_history = 5;
  int leaders = 2;     // r: STARK keeps a leaderboard of the top 2
  uint64_t seed = 0;   // sampling seed (mixed with the node id)
};

ContextWindow build_context(const TreeView& tree, NodeId id, AgentRole role, const ContextOptions& options = {});

// Markdown for prompts: one node, and a window's history. `language` tags the code fence.
std::string render_node(const NodeRecord& node, const std::string& relation, const std::string& language);
std::string render_history(const ContextWindow& window, const std::string& language);

}  // namespace tessera::agents

// Context windows (see context_window.h). The node and the root are never counted among the
// historical nodes and never repeated in them; a node reachable by two relations (a leader
// that is also a cousin) appears once, under the first relation listed for the role.
#include "agents/context_window.h"

#include "core/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <set>

namespace tessera::agents {

std::vector<NodeId> siblings(const TreeView& tree, NodeId id) {
  const NodeRecord n = tree.node(id);
  if (!n.parent) return {};
  std::vector<NodeId> out;
  for (NodeId c : tree.children(*n.parent))
    if (c != id) out.push_back(c);
  return out;
}

std::vector<NodeId> cousins(const TreeView& tree, NodeId id) {
  std::vector<NodeId> out;
  for (NodeId s : siblings(tree, id))
    for (NodeId c : tree.children(s)) out.push_back(c);
  return out;
}

ContextWindow build_context(const TreeView& tree, NodeId id, AgentRole role, const ContextOptions& options) {
  if (options.max_history < 0) fail("context window: max_history = {} must not be negative", options.max_history);
  ContextWindow w;
  w.role = role;
  w.node = tree.node(id);
  const NodeId root = tree.root();
  w.root = tree.node(root);

  std::vector<std::pair<std::string, NodeId>> pool;
  std::set<NodeId> seen{id, root};
  auto add = [&](const char* relation, const std::vector<NodeId>& ids) {
    for (NodeId n : ids)
      if (seen.insert(n).second) pool.emplace_back(relation, n);
  };
  switch (role) {
    case AgentRole::Plan:
      add("child", tree.children(id));
      add("leader", tree.leaders_outside(id, options.leaders));
      break;
    case AgentRole::Code:
      add("child", tree.children(id));
      add("cousin", cousins(tree, id));
      break;
    case AgentRole::Debug:
      add("sibling", siblings(tree, id));
      break;
  }
  w.candidates = static_cast<int>(pool.size());
  if (static_cast<int>(pool.size()) > options.max_history) {
    std::mt19937_64 rng(options.seed ^ (static_cast<uint64_t>(id) * 0x9E3779B97F4A7C15ull));
    std::shuffle(pool.begin(), pool.end(), rng);
    pool.resize(static_cast<size_t>(options.max_history));
  }
  const auto rank = [](const std::string& r) { return r == "child" ? 0 : r == "sibling" ? 1 : r == "cousin" ? 2 : 3; };
  std::sort(pool.begin(), pool.end(), [&](const auto& a, const auto& b) {
    return rank(a.first) != rank(b.first) ? rank(a.first) < rank(b.first) : a.second < b.second;
  });
  for (const auto& [relation, n] : pool) w.history.push_back({relation, tree.node(n)});
  return w;
}

namespace {

std::string cost_text(const NodeRecord& n) {
  if (!n.cost_s) return "not costed";
  return fmt::format("{:.4g} ms {}", *n.cost_s * 1e3, n.cost_predicted ? "(predicted, not measured)" : "(measured)");
}

}  // namespace

std::string render_node(const NodeRecord& n, const std::string& relation, const std::string& language) {
  std::string out = fmt::format("### node {} ({})\n", n.id, relation);
  out += fmt::format("- parent: {}\n", n.parent ? std::to_string(*n.parent) : std::string("none (root)"));
  out += fmt::format("- produced by: {}\n", n.operator_name.empty() ? "unknown" : n.operator_name);
  out += fmt::format("- status: {}\n", n.status.empty() ? "unknown" : n.status);
  out += fmt::format("- cost: {}\n", cost_text(n));
  if (!n.notes.empty()) out += "- notes:\n\n" + n.notes + (n.notes.back() == '\n' ? "" : "\n");
  out += "\n```" + language + "\n" + n.content + (n.content.empty() || n.content.back() == '\n' ? "" : "\n") + "```\n";
  return out;
}

std::string render_history(const ContextWindow& w, const std::string& language) {
  if (w.history.empty()) return "(no other nodes yet)\n";
  std::string out;
  if (w.candidates > static_cast<int>(w.history.size()))
    out += fmt::format("({} of {} related nodes, sampled)\n\n", w.history.size(), w.candidates);
  for (const ContextEntry& e : w.history) out += render_node(e.node, e.relation, language) + "\n";
  return out;
}

}  // namespace tessera::agents

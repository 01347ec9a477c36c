// Context windows over a small in-memory tree (the relations STARK gives each role, the cap
// of five with seeded sampling) and the prompt files: strict placeholder filling and the
// messages each role gets from the repository's prompts/.
#include "agents/context_window.h"
#include "agents/prompt.h"
#include "core/error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace tessera::agents {
namespace {

// A tree held in memory; leaders are ranked by cost, lowest first.
class MemoryTree : public TreeView {
 public:
  NodeId add(std::optional<NodeId> parent, double cost_ms, std::string status = "ok") {
    NodeRecord r;
    r.id = static_cast<NodeId>(nodes_.size()) + 1;
    r.parent = parent;
    r.operator_name = parent ? "knob_mutation" : "root";
    r.status = std::move(status);
    r.cost_s = cost_ms * 1e-3;
    r.content = "// candidate " + std::to_string(r.id) + "\n";
    nodes_[r.id] = r;
    if (parent) kids_[*parent].push_back(r.id);
    return r.id;
  }
  NodeId root() const override { return 1; }
  NodeRecord node(NodeId id) const override {
    auto it = nodes_.find(id);
    if (it == nodes_.end()) fail("no node {}", id);
    return it->second;
  }
  std::vector<NodeId> children(NodeId id) const override {
    auto it = kids_.find(id);
    return it == kids_.end() ? std::vector<NodeId>{} : it->second;
  }
  std::vector<NodeId> leaders_outside(NodeId id, int r) const override {
    std::set<NodeId> subtree;
    std::function<void(NodeId)> walk = [&](NodeId n) {
      subtree.insert(n);
      for (NodeId c : children(n)) walk(c);
    };
    walk(id);
    std::vector<NodeId> out;
    for (const auto& [n, rec] : nodes_)
      if (!subtree.count(n)) out.push_back(n);
    std::sort(out.begin(), out.end(), [&](NodeId a, NodeId b) { return *nodes_.at(a).cost_s < *nodes_.at(b).cost_s; });
    if (static_cast<int>(out.size()) > r) out.resize(static_cast<size_t>(r));
    return out;
  }

 private:
  std::map<NodeId, NodeRecord> nodes_;
  std::map<NodeId, std::vector<NodeId>> kids_;
};

// 1 ── 2 ── 5, 6
//  ├── 3 ── 7 ── 9
//  │     └─ 8
//  └── 4 ── 10
MemoryTree small_tree() {
  MemoryTree t;
  t.add(std::nullopt, 10);  // 1
  t.add(1, 5);              // 2
  t.add(1, 9);              // 3
  t.add(1, 8);              // 4
  t.add(2, 4);              // 5: best overall
  t.add(2, 6);              // 6
  t.add(3, 7);              // 7
  t.add(3, 3, "incorrect"); // 8
  t.add(7, 2);              // 9: inside 3's subtree
  t.add(4, 7.5);            // 10
  return t;
}

std::vector<std::pair<std::string, NodeId>> relations(const ContextWindow& w) {
  std::vector<std::pair<std::string, NodeId>> out;
  for (const auto& e : w.history) out.emplace_back(e.relation, e.node.id);
  return out;
}

using Rel = std::vector<std::pair<std::string, NodeId>>;

TEST(AgentsContextWindow, SiblingsAndCousins) {
  const MemoryTree t = small_tree();
  EXPECT_EQ(siblings(t, 3), (std::vector<NodeId>{2, 4}));
  EXPECT_EQ(cousins(t, 3), (std::vector<NodeId>{5, 6, 10}));
  EXPECT_TRUE(siblings(t, 1).empty());
}

TEST(AgentsContextWindow, EachRoleSeesWhatStarkDefines) {
  const MemoryTree t = small_tree();
  // plan: children of 3 and the top-2 leaders outside its subtree (5 and 2; 9, faster, is inside).
  EXPECT_EQ(relations(build_context(t, 3, AgentRole::Plan)), (Rel{{"child", 7}, {"child", 8}, {"leader", 2}, {"leader", 5}}));
  // code: children and cousins.
  EXPECT_EQ(relations(build_context(t, 3, AgentRole::Code)),
            (Rel{{"child", 7}, {"child", 8}, {"cousin", 5}, {"cousin", 6}, {"cousin", 10}}));
  // debug: siblings only.
  EXPECT_EQ(relations(build_context(t, 8, AgentRole::Debug)), (Rel{{"sibling", 7}}));
  const ContextWindow w = build_context(t, 8, AgentRole::Debug);
  EXPECT_EQ(w.node.id, 8);
  EXPECT_EQ(w.root.id, 1);
  // The root is shown as the root, never again among the historical nodes.
  for (const auto& [rel, id] : relations(build_context(t, 2, AgentRole::Plan))) EXPECT_NE(id, 1) << rel;
}

TEST(AgentsContextWindow, AtMostFiveSampledWithASeed) {
  MemoryTree t;
  t.add(std::nullopt, 10);
  for (int i = 0; i < 9; ++i) t.add(1, 5 + i);
  const ContextWindow a = build_context(t, 1, AgentRole::Plan, {5, 2, 42});
  EXPECT_EQ(a.history.size(), 5u);
  EXPECT_EQ(a.candidates, 9);
  EXPECT_EQ(relations(a), relations(build_context(t, 1, AgentRole::Plan, {5, 2, 42})));  // reproducible
  bool differs = false;
  for (uint64_t seed = 0; seed < 8 && !differs; ++seed)
    differs = relations(build_context(t, 1, AgentRole::Plan, {5, 2, seed})) != relations(a);
  EXPECT_TRUE(differs) << "the seed does not change the sample";
  EXPECT_NE(render_history(a, "cuda").find("(5 of 9 related nodes, sampled)"), std::string::npos);
}

TEST(AgentsPrompt, FillIsStrictBothWays) {
  EXPECT_EQ(fill_prompt("a {{x}} b {{ y }} {{Z}} {{x}}", {{"x", "{{x}}!"}}, "t.md"), "a {{x}}! b {{ y }} {{Z}} {{x}}!");
  try {
    fill_prompt("line one\nuses {{missing}}\n", {}, "t.md");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "prompt t.md line 2: placeholder {{missing}} has no value");
  }
  try {
    fill_prompt("no placeholders", {{"extra", "v"}}, "t.md");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "prompt t.md: a value for 'extra' was given but the template has no {{extra}}");
  }
  EXPECT_THROW(load_prompt_file("/nonexistent/prompts", "plan.md"), Error);
}

TEST(AgentsPrompt, RepositoryPromptsFillForEveryRole) {
  const MemoryTree t = small_tree();
  const std::string dir = std::string(TESSERA_SOURCE_DIR) + "/prompts";
  PromptInputs in;
  in.language = "cuda";
  in.target = "llama-3.2-1b on an H100 (floor 1.9 ms per step)";
  in.anchored = "// <<<IMPROVE BEGIN>>> widen loads\nx;\n// <<<IMPROVE END>>>\n";
  in.diagnostics = "nvrtc: error: expected a ';' at line 6";
  for (AgentRole role : {AgentRole::Plan, AgentRole::Code, AgentRole::Debug}) {
    const auto msgs = build_messages(dir, build_context(t, 3, role), in);
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0].role, "system");
    const std::string& u = msgs[1].content;
    SCOPED_TRACE(role_name(role));
    EXPECT_NE(u.find("llama-3.2-1b on an H100"), std::string::npos);
    EXPECT_NE(u.find("// candidate 3"), std::string::npos);  // the node
    EXPECT_NE(u.find("// candidate 1"), std::string::npos);  // the root
    EXPECT_NE(u.find("<<<IMPROVE BEGIN>>> one line of advice"), std::string::npos);  // source anchor rules
    EXPECT_NE(u.find("ms (measured)"), std::string::npos);
    EXPECT_EQ(u.find("{{"), std::string::npos) << "an unfilled placeholder";
    const bool has_anchored = u.find("widen loads") != std::string::npos;
    EXPECT_EQ(has_anchored, role != AgentRole::Plan);
    EXPECT_EQ(u.find("expected a ';'") != std::string::npos, role == AgentRole::Debug);
    // Historical nodes by role: cousin 10 only for code, child 7 for plan and code, sibling 2 for debug.
    EXPECT_EQ(u.find("### node 10 (cousin)") != std::string::npos, role == AgentRole::Code);
    EXPECT_EQ(u.find("### node 7 (child)") != std::string::npos, role != AgentRole::Debug);
    EXPECT_EQ(u.find("### node 2 (sibling)") != std::string::npos, role == AgentRole::Debug);
  }
  in.language = "json";
  const auto plan = build_messages(dir, build_context(t, 3, AgentRole::Plan), in);
  EXPECT_NE(plan[1].content.find("\"__improve__\": \"advice\""), std::string::npos);
  EXPECT_NE(plan[1].content.find("```json"), std::string::npos);

  PromptInputs missing = in;
  missing.anchored.clear();
  EXPECT_THROW(build_messages(dir, build_context(t, 3, AgentRole::Code), missing), Error);
}

TEST(AgentsPrompt, PredictedCostsAreLabelled) {
  NodeRecord n;
  n.id = 4;
  n.cost_s = 0.00125;
  n.cost_predicted = true;
  EXPECT_NE(render_node(n, "leader", "json").find("1.25 ms (predicted, not measured)"), std::string::npos);
  n.cost_s.reset();
  EXPECT_NE(render_node(n, "leader", "json").find("cost: not costed"), std::string::npos);
}

}  // namespace
}  // namespace tessera::agents

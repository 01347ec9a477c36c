// The three roles end to end against the scripted server, without the search loop: the plan
// agent's reply only adds anchors, the code agent's broken kernel is applied inside the span,
// the (stand-in) build failure goes to the debug agent with its siblings as context, and the
// fix passes the anchor check and the variant guard. Every call leaves a Transcript with
// usage; the loop that stores them is issue 7's.
#include "agents/anchors.h"
#include "agents/context_window.h"
#include "agents/fenced_code.h"
#include "agents/llm_client.h"
#include "agents/prompt.h"
#include "agents/variant_guard.h"
#include "agents_scripted_server.h"

#include <gtest/gtest.h>

namespace tessera::agents {
namespace {

// Root (the baseline kernel), one earlier child, and the node the debug agent repairs.
class ThreeNodes : public TreeView {
 public:
  explicit ThreeNodes(std::string source) {
    for (NodeId id : {1, 2, 3}) {
      NodeRecord r;
      r.id = id;
      if (id > 1) r.parent = 1;
      r.operator_name = id == 1 ? "root" : "llm_code";
      r.status = id == 3 ? "build_failed" : "ok";
      if (id < 3) r.cost_s = id == 1 ? 4.1e-3 : 3.9e-3;
      r.content = source;
      nodes_.push_back(r);
    }
  }
  NodeId root() const override { return 1; }
  NodeRecord node(NodeId id) const override { return nodes_.at(static_cast<size_t>(id - 1)); }
  std::vector<NodeId> children(NodeId id) const override { return id == 1 ? std::vector<NodeId>{2, 3} : std::vector<NodeId>{}; }
  std::vector<NodeId> leaders_outside(NodeId id, int) const override { return id == 1 ? std::vector<NodeId>{} : std::vector<NodeId>{1}; }
  std::vector<NodeRecord> nodes_;
};

TEST(AgentsRolesFlow, PlanCodeDebugAgainstTheScriptedServer) {
  using test::reply_file;
  test::ScriptedServer server(
      {reply_file("openai_plan_ok.json"), reply_file("openai_code_broken.json"), reply_file("openai_debug_fix.json")});
  LlmConfig config;
  config.base_url = server.url() + "/v1";
  config.model = "scripted-model";
  config.retry.base_delay_s = 0.01;
  LlmClient client(config);
  const std::string prompts = std::string(TESSERA_SOURCE_DIR) + "/prompts";
  const std::string source = test::agents_data("gemv_tile.cu");
  const ThreeNodes tree(source);
  PromptInputs in;
  in.language = "cuda";
  in.target = "gemv_tile on an H100";
  std::vector<Transcript> transcripts;

  // Plan: the reply may only add anchors.
  transcripts.push_back(client.complete(AgentRole::Plan, build_messages(prompts, build_context(tree, 1, AgentRole::Plan), in)));
  const std::string anchored = extract_fenced_block(require_text(transcripts.back()), "cuda");
  check_anchors_only(source, anchored, AnchorLanguage::Cuda);

  // Code: applied inside the span; the harness's build then fails (NVRTC on the GPU side,
  // stood in for by the diagnostic it would print for the missing ';').
  in.anchored = anchored;
  transcripts.push_back(client.complete(AgentRole::Code, build_messages(prompts, build_context(tree, 1, AgentRole::Code), in)));
  const std::string broken_anchored = extract_fenced_block(require_text(transcripts.back()), "cuda");
  const std::string broken = apply_anchored_edit(anchored, broken_anchored, AnchorLanguage::Cuda);
  EXPECT_NE(broken.find("(w + r * cols)\n"), std::string::npos) << "the canned kernel lost its deliberate bug";

  // Debug: node 3 failed to build; its sibling 2 is its context.
  in.anchored = broken_anchored;
  in.diagnostics = "gemv_tile.cu(6): error: expected a \";\"";
  const ContextWindow debug_window = build_context(tree, 3, AgentRole::Debug);
  ASSERT_EQ(debug_window.history.size(), 1u);
  EXPECT_EQ(debug_window.history[0].node.id, 2);
  transcripts.push_back(client.complete(AgentRole::Debug, build_messages(prompts, debug_window, in)));
  const std::string fixed_anchored = extract_fenced_block(require_text(transcripts.back()), "cuda");
  const std::string fixed = apply_anchored_edit(anchored, fixed_anchored, AnchorLanguage::Cuda);
  VariantGuardPolicy policy;
  policy.entry = "gemv_tile";
  const GuardReport guard = check_variant(fixed, policy);
  EXPECT_TRUE(guard.ok()) << guard.summary();

  // What was sent: role temperatures, the diagnostics only to the debug agent.
  const auto sent = server.received();
  ASSERT_EQ(sent.size(), 3u);
  const double temps[] = {0.8, 0.1, 0.1};
  for (size_t i = 0; i < 3; ++i) {
    const auto body = nlohmann::json::parse(sent[i].body);
    EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), temps[i]);
    const std::string user = body["messages"][1]["content"];
    EXPECT_EQ(user.find("expected a \";\"") != std::string::npos, i == 2);
  }
  int64_t tokens_in = 0, tokens_out = 0;
  for (const Transcript& t : transcripts) {
    EXPECT_TRUE(t.ok());
    EXPECT_TRUE(t.usage_reported);
    tokens_in += t.tokens_in;
    tokens_out += t.tokens_out;
  }
  EXPECT_EQ(tokens_in, 812 + 1024 + 1400);
  EXPECT_EQ(tokens_out, 233 + 310 + 402);
}

}  // namespace
}  // namespace tessera::agents

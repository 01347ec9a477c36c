// Anthropic Messages API (POST {base_url}/v1/messages). It differs from chat completions in
// where things go: the key in x-api-key with a pinned anthropic-version, system text as a
// top-level field rather than a message, max_tokens required, the reply as a list of
// content blocks, and cache reads/writes counted apart from input_tokens (they are input
// the call consumed, so they are added to tokens_in).
#include "agents/llm_client.h"

#include "core/error.h"

namespace tessera::agents {

namespace {

class AnthropicMessages final : public LlmProvider {
 public:
  std::string name() const override { return "anthropic"; }

  std::string url(const LlmConfig& c) const override {
    std::string base = c.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + "/v1/messages";
  }

  std::vector<std::pair<std::string, std::string>> headers(const LlmConfig& c, const std::string& key) const override {
    std::vector<std::pair<std::string, std::string>> h{{"Content-Type", "application/json"},
                                                       {"anthropic-version", c.anthropic_version}};
    if (!key.empty()) h.emplace_back("x-api-key", key);
    return h;
  }

  nlohmann::json body(const LlmConfig& c, double temperature, const std::vector<ChatMessage>& messages) const override {
    std::string system;
    nlohmann::json msgs = nlohmann::json::array();
    for (const ChatMessage& m : messages) {
      if (m.role == "system")
        system += (system.empty() ? "" : "\n\n") + m.content;
      else
        msgs.push_back({{"role", m.role}, {"content", m.content}});
    }
    nlohmann::json b{{"model", c.model}, {"messages", msgs}, {"temperature", temperature}, {"max_tokens", c.max_tokens}};
    if (!system.empty()) b["system"] = system;
    return b;
  }

  ProviderReply parse(const nlohmann::json& r) const override {
    if (!r.is_object()) fail("the response is a JSON {}, not an object", r.type_name());
    auto content = r.find("content");
    if (content == r.end() || !content->is_array()) fail("'content' is missing or not a list of blocks");
    ProviderReply out;
    bool any_text = false;
    for (const auto& block : *content) {
      if (!block.is_object() || block.value("type", "") != "text") continue;
      auto text = block.find("text");
      if (text == block.end() || !text->is_string()) fail("a text block in 'content' has no 'text' string");
      out.text += text->get<std::string>();
      any_text = true;
    }
    if (!any_text) fail("'content' has no text block");
    if (auto sr = r.find("stop_reason"); sr != r.end() && sr->is_string()) out.finish_reason = *sr;
    if (auto u = r.find("usage"); u != r.end() && u->is_object()) {
      auto in = u->find("input_tokens"), outt = u->find("output_tokens");
      if (in != u->end() && outt != u->end() && in->is_number_integer() && outt->is_number_integer()) {
        out.tokens_in = in->get<int64_t>();
        for (const char* cached : {"cache_creation_input_tokens", "cache_read_input_tokens"})
          if (auto cc = u->find(cached); cc != u->end() && cc->is_number_integer()) out.tokens_in += cc->get<int64_t>();
        out.tokens_out = outt->get<int64_t>();
        out.usage_reported = true;
      }
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<LlmProvider> make_anthropic_messages() { return std::make_unique<AnthropicMessages>(); }

}  // namespace tessera::agents

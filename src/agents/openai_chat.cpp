// OpenAI-compatible chat completions (POST {base_url}/chat/completions): OpenAI itself and
// the servers that copy its API (vLLM, llama.cpp's server, most hosted providers). Only
// the fields every one of them fills are required; content given as an array of text
// parts (some servers do this) is joined.
#include "agents/llm_client.h"

#include "core/error.h"

namespace tessera::agents {

namespace {

class OpenAiChat final : public LlmProvider {
 public:
  std::string name() const override { return "openai"; }

  std::string url(const LlmConfig& c) const override {
    std::string base = c.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + "/chat/completions";
  }

  std::vector<std::pair<std::string, std::string>> headers(const LlmConfig&, const std::string& key) const override {
    std::vector<std::pair<std::string, std::string>> h{{"Content-Type", "application/json"}};
    if (!key.empty()) h.emplace_back("Authorization", "Bearer " + key);
    return h;
  }

  nlohmann::json body(const LlmConfig& c, double temperature, const std::vector<ChatMessage>& messages) const override {
    nlohmann::json msgs = nlohmann::json::array();
    for (const ChatMessage& m : messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
    return {{"model", c.model}, {"messages", msgs}, {"temperature", temperature}, {"max_tokens", c.max_tokens}};
  }

  ProviderReply parse(const nlohmann::json& r) const override {
    if (!r.is_object()) fail("the response is a JSON {}, not an object", r.type_name());
    auto choices = r.find("choices");
    if (choices == r.end() || !choices->is_array() || choices->empty()) fail("'choices' is missing or empty");
    const nlohmann::json& choice = (*choices)[0];
    auto message = choice.find("message");
    if (message == choice.end() || !message->is_object()) fail("'choices[0].message' is missing");
    auto content = message->find("content");
    ProviderReply out;
    if (content == message->end() || content->is_null()) {
      std::string refusal = message->contains("refusal") && (*message)["refusal"].is_string()
                                ? (*message)["refusal"].get<std::string>()
                                : "";
      if (!refusal.empty()) fail("the model refused: {}", refusal);
      fail("'choices[0].message.content' is missing or null");
    } else if (content->is_string()) {
      out.text = content->get<std::string>();
    } else if (content->is_array()) {
      for (const auto& part : *content)
        if (part.is_object() && part.contains("text") && part["text"].is_string()) out.text += part["text"].get<std::string>();
    } else {
      fail("'choices[0].message.content' is a JSON {}, not text", content->type_name());
    }
    if (auto fr = choice.find("finish_reason"); fr != choice.end() && fr->is_string()) out.finish_reason = *fr;
    if (auto u = r.find("usage"); u != r.end() && u->is_object()) {
      auto in = u->find("prompt_tokens"), outt = u->find("completion_tokens");
      if (in != u->end() && outt != u->end() && in->is_number_integer() && outt->is_number_integer()) {
        out.tokens_in = in->get<int64_t>();
        out.tokens_out = outt->get<int64_t>();
        out.usage_reported = true;
      }
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<LlmProvider> make_openai_chat() { return std::make_unique<OpenAiChat>(); }

}  // namespace tessera::agents

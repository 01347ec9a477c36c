// One chat call to an LLM, whichever provider serves it, always answered with a Transcript
// (success or not) so the caller can store every request beside the candidate it produced.
// Network and provider failures do not throw: they are retried where a retry can help
// (retry_policy.h) and otherwise end up in Transcript::error, naming the HTTP status and
// the provider's own message. Configuration mistakes (checked when the client is built)
// and a missing API-key variable do throw tessera::Error, because no call can succeed.
//
// Providers differ only in URL, headers, body and response shape; each is one file
// (openai_chat.cpp, anthropic_messages.cpp) implementing LlmProvider.
#pragma once

#include "agents/http_post.h"
#include "agents/llm_config.h"
#include "agents/transcript.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace tessera::agents {

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
};

// What a provider extracts from a successful (2xx) response body.
struct ProviderReply {
  std::string text;
  std::string finish_reason;
  int64_t tokens_in = 0, tokens_out = 0;
  bool usage_reported = false;
};

class LlmProvider {
 public:
  virtual ~LlmProvider() = default;
  virtual std::string name() const = 0;
  virtual std::string url(const LlmConfig& c) const = 0;
  // `api_key` is empty when the config names no key variable.
  virtual std::vector<std::pair<std::string, std::string>> headers(const LlmConfig& c,
                                                                  const std::string& api_key) const = 0;
  virtual nlohmann::json body(const LlmConfig& c, double temperature,
                              const std::vector<ChatMessage>& messages) const = 0;
  // Throws tessera::Error naming the missing or mistyped field.
  virtual ProviderReply parse(const nlohmann::json& response) const = 0;
};

std::unique_ptr<LlmProvider> make_openai_chat();
std::unique_ptr<LlmProvider> make_anthropic_messages();

// The provider's error message inside an error body ({"error": {"message": ...}} in both
// APIs, or a bare string); the raw body, shortened, when there is none.
std::string provider_error_message(const std::string& body);

// One client may serve several agent threads: complete() shares only the jitter generator,
// which a mutex guards.
class LlmClient {
 public:
  // Checks the config (check_llm_config) and that the key variable, when named, is set.
  explicit LlmClient(LlmConfig config, HttpTransport transport = curl_post, EnvLookup env = nullptr);

  Transcript complete(AgentRole role, const std::vector<ChatMessage>& messages);

  const LlmConfig& config() const { return config_; }

 private:
  std::string api_key() const;

  LlmConfig config_;
  HttpTransport transport_;
  EnvLookup env_;
  std::unique_ptr<LlmProvider> provider_;
  std::mutex jitter_mutex_;
  std::mt19937_64 jitter_;
};

}  // namespace tessera::agents

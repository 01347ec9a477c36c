// The provider-independent half of an LLM call: the attempt loop with back-off, response
// classification and the Transcript. Nothing here logs; what a caller wants to keep, it
// takes from the Transcript, which never holds the key.
#include "agents/llm_client.h"

#include "core/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <thread>

namespace tessera::agents {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string shorten(const std::string& s, size_t n = 200) {
  std::string out = s.size() <= n ? s : s.substr(0, n) + "...";
  for (char& ch : out)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return out;
}

std::unique_ptr<LlmProvider> make_provider(const std::string& name) {
  if (name == "openai") return make_openai_chat();
  if (name == "anthropic") return make_anthropic_messages();
  fail("LLM config: provider '{}' is not supported (expected openai or anthropic)", name);
}

}  // namespace

std::string provider_error_message(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded() && j.is_object()) {
    if (auto e = j.find("error"); e != j.end()) {
      if (e->is_string()) return e->get<std::string>();
      if (e->is_object()) {
        auto m = e->find("message");
        std::string type = e->contains("type") && (*e)["type"].is_string() ? (*e)["type"].get<std::string>() : "";
        if (m != e->end() && m->is_string())
          return type.empty() ? m->get<std::string>() : fmt::format("{} ({})", m->get<std::string>(), type);
      }
    }
    if (auto m = j.find("message"); m != j.end() && m->is_string()) return m->get<std::string>();
  }
  return body.empty() ? "(empty body)" : "body: " + shorten(body);
}

LlmClient::LlmClient(LlmConfig config, HttpTransport transport, EnvLookup env)
    : config_(std::move(config)),
      transport_(std::move(transport)),
      env_(env ? std::move(env) : EnvLookup([](const char* n) { return std::getenv(n); })),
      provider_(make_provider(config_.provider)),
      jitter_(std::random_device{}()) {
  check_llm_config(config_);
  (void)api_key();  // fail now, not at the first call of a long run
}

std::string LlmClient::api_key() const {
  if (config_.api_key_env.empty()) return {};
  const char* v = env_(config_.api_key_env.c_str());
  if (!v || !*v)
    fail("LLM config: the API key variable {} (api_key_env) is not set in the environment", config_.api_key_env);
  return v;
}

Transcript LlmClient::complete(AgentRole role, const std::vector<ChatMessage>& messages) {
  Transcript t;
  t.role = role_name(role);
  t.provider = provider_->name();
  t.model = config_.model;
  t.url = provider_->url(config_);
  const Clock::time_point start = Clock::now();
  auto finish = [&](std::string error) {
    t.error = std::move(error);
    t.latency_s = seconds_since(start);
    return t;
  };
  if (messages.empty()) return finish("no messages to send");
  t.request = provider_->body(config_, config_.temperature(role), messages);

  HttpRequest req;
  req.url = t.url;
  try {
    req.headers = provider_->headers(config_, api_key());
  } catch (const Error& e) {
    return finish(e.what());
  }
  req.body = t.request.dump();
  req.timeout_s = config_.timeout_s;
  req.connect_timeout_s = config_.connect_timeout_s;

  const RetryPolicy& policy = config_.retry;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  double wait = 0;
  std::string last_error;
  for (int attempt = 1; attempt <= policy.max_attempts; ++attempt) {
    if (wait > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    Attempt a;
    a.waited_s = wait;
    const Clock::time_point t0 = Clock::now();
    const HttpResponse resp = transport_(req);
    a.seconds = seconds_since(t0);
    a.http_status = resp.status;
    {
      std::lock_guard<std::mutex> lock(jitter_mutex_);
      wait = backoff_delay(policy, attempt, uniform(jitter_));
    }

    if (!resp.transport_error.empty()) {
      a.error = fmt::format("{}: {}", t.url, resp.transport_error);
      last_error = a.error;
      t.attempts.push_back(a);
      continue;
    }
    const auto parsed = nlohmann::json::parse(resp.body, nullptr, /*allow_exceptions=*/false);
    t.response = parsed.is_discarded() ? nlohmann::json(resp.body) : parsed;

    if (resp.status >= 200 && resp.status < 300) {
      t.attempts.push_back(a);
      if (parsed.is_discarded())
        return finish(fmt::format("{} answered HTTP {} with a body that is not JSON: '{}'", t.url, resp.status,
                                  shorten(resp.body)));
      try {
        ProviderReply r = provider_->parse(parsed);
        t.text = std::move(r.text);
        t.finish_reason = std::move(r.finish_reason);
        t.tokens_in = r.tokens_in;
        t.tokens_out = r.tokens_out;
        t.usage_reported = r.usage_reported;
      } catch (const Error& e) {
        return finish(fmt::format("malformed {} response from {}: {}", t.provider, t.url, e.what()));
      }
      return finish("");
    }

    a.error = fmt::format("HTTP {} from {}: {}", resp.status, t.url, provider_error_message(resp.body));
    last_error = a.error;
    t.attempts.push_back(a);
    if (!is_retryable_status(resp.status)) return finish(last_error);
    if (auto after = retry_after_seconds(resp.headers, std::time(nullptr))) {
      if (*after > policy.max_retry_after_s)
        return finish(fmt::format("{}; the server asks to retry after {:.3g} s, beyond retry.max_retry_after_s = "
                                  "{:.3g} s, so the call ends here",
                                  last_error, *after, policy.max_retry_after_s));
      wait = std::max(wait, *after);
    }
  }
  return finish(fmt::format("gave up after {} attempt{}; last: {}", policy.max_attempts,
                            policy.max_attempts == 1 ? "" : "s", last_error));
}

}  // namespace tessera::agents

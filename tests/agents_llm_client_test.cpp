// LLM clients against the scripted server on 127.0.0.1: the request each provider sends
// (path, auth headers, temperature per role), token accounting from usage, and every
// failure path (429 with Retry-After, 5xx bounded, other 4xx not retried, malformed
// bodies, timeouts, refused connections, missing key variable), with the key never
// appearing in a Transcript or an error.
#include "agents/llm_client.h"
#include "agents_scripted_server.h"
#include "core/error.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdlib>

namespace tessera::agents {
namespace {

using test::reply_file;
using test::ScriptedReply;
using test::ScriptedServer;

constexpr const char* kKey = "sk-test-key-SECRET-123";

EnvLookup fake_env() {
  return [](const char* name) -> const char* {
    return std::string(name) == "TESSERA_TEST_LLM_KEY" ? kKey : nullptr;
  };
}

LlmConfig openai_config(const ScriptedServer& s) {
  LlmConfig c;
  c.provider = "openai";
  c.base_url = s.url() + "/v1";
  c.model = "scripted-model";
  c.api_key_env = "TESSERA_TEST_LLM_KEY";
  c.timeout_s = 2;
  c.retry.max_attempts = 3;
  c.retry.base_delay_s = 0.01;
  c.retry.max_delay_s = 0.05;
  c.retry.max_retry_after_s = 2;
  return c;
}

std::vector<ChatMessage> prompt() { return {{"system", "You optimise CUDA."}, {"user", "Improve this kernel."}}; }

void expect_no_key(const Transcript& t) {
  EXPECT_EQ(t.to_json().dump().find(kKey), std::string::npos) << "the API key leaked into the transcript";
  EXPECT_EQ(t.error.find(kKey), std::string::npos);
}

TEST(AgentsLlmClient, OpenAiRequestShapeAndUsage) {
  ScriptedServer s({reply_file("openai_plan_ok.json")});
  LlmClient client(openai_config(s), curl_post, fake_env());
  const Transcript t = client.complete(AgentRole::Plan, prompt());
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_NE(t.text.find("<<<IMPROVE BEGIN>>>"), std::string::npos);
  EXPECT_EQ(t.finish_reason, "stop");
  EXPECT_TRUE(t.usage_reported);
  EXPECT_EQ(t.tokens_in, 812);
  EXPECT_EQ(t.tokens_out, 233);
  EXPECT_EQ(t.attempts.size(), 1u);
  EXPECT_EQ(t.role, "plan");
  EXPECT_EQ(t.provider, "openai");

  const auto got = s.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path, "/v1/chat/completions");
  EXPECT_EQ(got[0].header("Authorization"), std::string("Bearer ") + kKey);
  EXPECT_FALSE(got[0].has_header("x-api-key"));
  const auto body = nlohmann::json::parse(got[0].body);
  EXPECT_EQ(body["model"], "scripted-model");
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.8);
  EXPECT_EQ(body["max_tokens"], 4096);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_EQ(body, t.request);  // the transcript records exactly what was sent
  expect_no_key(t);
}

TEST(AgentsLlmClient, TemperatureFollowsTheRole) {
  ScriptedServer s({reply_file("openai_plan_ok.json"), reply_file("openai_code_broken.json"),
                    reply_file("openai_debug_fix.json")});
  LlmConfig c = openai_config(s);
  c.temperature_plan = 0.7;
  c.temperature_code = 0.2;
  c.temperature_debug = 0.05;
  LlmClient client(c, curl_post, fake_env());
  for (AgentRole r : {AgentRole::Plan, AgentRole::Code, AgentRole::Debug}) ASSERT_TRUE(client.complete(r, prompt()).ok());
  const auto got = s.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(got[0].body)["temperature"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(got[1].body)["temperature"].get<double>(), 0.2);
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(got[2].body)["temperature"].get<double>(), 0.05);
}

TEST(AgentsLlmClient, RateLimitHonoursRetryAfterThenSucceeds) {
  ScriptedServer s({reply_file("error_429.json", 429, {{"Retry-After", "1"}}), reply_file("openai_plan_ok.json")});
  LlmClient client(openai_config(s), curl_post, fake_env());
  const Transcript t = client.complete(AgentRole::Plan, prompt());
  ASSERT_TRUE(t.ok()) << t.error;
  ASSERT_EQ(t.attempts.size(), 2u);
  EXPECT_EQ(t.attempts[0].http_status, 429);
  EXPECT_NE(t.attempts[0].error.find("Rate limit reached"), std::string::npos) << t.attempts[0].error;
  EXPECT_GE(t.attempts[1].waited_s, 1.0);  // the server's wait, not the 10 ms back-off
  EXPECT_GE(t.latency_s, 1.0);
  EXPECT_EQ(s.received().size(), 2u);
  EXPECT_EQ(t.tokens_in, 812);  // usage of the answer that succeeded
}

TEST(AgentsLlmClient, RetryAfterMillisecondsIsPreferred) {
  ScriptedServer s({reply_file("error_429.json", 429, {{"Retry-After", "1"}, {"retry-after-ms", "120"}}),
                    reply_file("openai_plan_ok.json")});
  LlmClient client(openai_config(s), curl_post, fake_env());
  const Transcript t = client.complete(AgentRole::Code, prompt());
  ASSERT_TRUE(t.ok()) << t.error;
  ASSERT_EQ(t.attempts.size(), 2u);
  EXPECT_GE(t.attempts[1].waited_s, 0.12);
  EXPECT_LT(t.attempts[1].waited_s, 0.9);
}

TEST(AgentsLlmClient, ServerErrorsAreRetriedWithGrowingBoundedBackoff) {
  ScriptedServer s({reply_file("error_500.json", 500), reply_file("error_500.json", 503),
                    reply_file("error_500.json", 502), reply_file("openai_plan_ok.json")});
  LlmClient client(openai_config(s), curl_post, fake_env());
  const Transcript t = client.complete(AgentRole::Plan, prompt());
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(s.received().size(), 3u);  // max_attempts, never the fourth
  ASSERT_EQ(t.attempts.size(), 3u);
  EXPECT_NE(t.error.find("gave up after 3 attempts"), std::string::npos) << t.error;
  EXPECT_NE(t.error.find("HTTP 502"), std::string::npos) << t.error;
  EXPECT_NE(t.error.find("server had an error"), std::string::npos) << t.error;
  // Equal jitter: retry k waits in [0.5, 1] x min(cap, base 2^(k-1)).
  EXPECT_EQ(t.attempts[0].waited_s, 0.0);
  EXPECT_GE(t.attempts[1].waited_s, 0.005);
  EXPECT_LE(t.attempts[1].waited_s, 0.010);
  EXPECT_GE(t.attempts[2].waited_s, 0.010);
  EXPECT_LE(t.attempts[2].waited_s, 0.020);
  expect_no_key(t);
}

TEST(AgentsLlmClient, OtherClientErrorsAreNotRetried) {
  ScriptedServer s({reply_file("error_400.json", 400), reply_file("openai_plan_ok.json")});
  LlmClient client(openai_config(s), curl_post, fake_env());
  const Transcript t = client.complete(AgentRole::Plan, prompt());
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(s.received().size(), 1u);
  EXPECT_NE(t.error.find("HTTP 400"), std::string::npos) << t.error;
  EXPECT_NE(t.error.find("Invalid 'temperature'"), std::string::npos) << t.error;
  EXPECT_EQ(t.response["error"]["type"], "invalid_request_error");  // the body is kept
}

TEST(AgentsLlmClient, RetryAfterBeyondTheCapEndsTheCall) {
  ScriptedServer s({reply_file("error_429.json", 429, {{"Retry-After", "3600"}}), reply_file("openai_plan_ok.json")});
  LlmClient client(openai_config(s), curl_post, fake_env());
  const Transcript t = client.complete(AgentRole::Plan, prompt());
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(s.received().size(), 1u);
  EXPECT_NE(t.error.find("retry after 3.6e+03 s"), std::string::npos) << t.error;
  EXPECT_LT(t.latency_s, 1.0);
}

TEST(AgentsLlmClient, MalformedBodyIsAClearErrorNotARetry) {
  ScriptedServer s({reply_file("openai_malformed.txt"), reply_file("openai_plan_ok.json")});
  LlmClient client(openai_config(s), curl_post, fake_env());
  const Transcript t = client.complete(AgentRole::Plan, prompt());
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(s.received().size(), 1u);
  EXPECT_NE(t.error.find("not JSON"), std::string::npos) << t.error;
  EXPECT_NE(t.error.find("chatcmpl-t6"), std::string::npos) << "the error should quote the start of the body";
  EXPECT_TRUE(t.response.is_string());  // the raw body is kept for the logs
  EXPECT_THROW(require_text(t), Error);
}

TEST(AgentsLlmClient, MissingFieldsAreNamed) {
  ScriptedServer s({reply_file("openai_missing_choices.json")});
  LlmClient client(openai_config(s), curl_post, fake_env());
  const Transcript t = client.complete(AgentRole::Debug, prompt());
  EXPECT_FALSE(t.ok());
  EXPECT_NE(t.error.find("malformed openai response"), std::string::npos) << t.error;
  EXPECT_NE(t.error.find("'choices'"), std::string::npos) << t.error;
}

TEST(AgentsLlmClient, AbsentUsageIsFlaggedNotGuessed) {
  ScriptedServer s({reply_file("openai_no_usage.json")});
  LlmClient client(openai_config(s), curl_post, fake_env());
  const Transcript t = client.complete(AgentRole::Code, prompt());
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_FALSE(t.usage_reported);
  EXPECT_EQ(t.tokens_in, 0);
  EXPECT_EQ(t.tokens_out, 0);
  EXPECT_EQ(t.to_json()["usage_reported"], false);
}

TEST(AgentsLlmClient, TimeoutIsHonouredAndRetried) {
  ScriptedServer s({reply_file("openai_plan_ok.json", 200, {}, /*delay_ms=*/900), reply_file("openai_plan_ok.json")});
  LlmConfig c = openai_config(s);
  c.timeout_s = 0.3;
  LlmClient client(c, curl_post, fake_env());
  const Transcript t = client.complete(AgentRole::Plan, prompt());
  ASSERT_TRUE(t.ok()) << t.error;
  ASSERT_EQ(t.attempts.size(), 2u);
  EXPECT_EQ(t.attempts[0].http_status, 0);
  EXPECT_NE(t.attempts[0].error.find("timeout"), std::string::npos) << t.attempts[0].error;
  EXPECT_GE(t.attempts[0].seconds, 0.25);
  EXPECT_LT(t.attempts[0].seconds, 0.8);  // gave up near 0.3 s, did not wait for the 0.9 s reply
}

TEST(AgentsLlmClient, RefusedConnectionIsRetriedThenReported) {
  // A port that was just free: bind, read the number, close.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);

  LlmConfig c;
  c.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  c.model = "m";
  c.retry.max_attempts = 2;
  c.retry.base_delay_s = 0.01;
  LlmClient client(c, curl_post, fake_env());
  const Transcript t = client.complete(AgentRole::Plan, prompt());
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(t.attempts.size(), 2u);
  EXPECT_NE(t.error.find("gave up after 2 attempts"), std::string::npos) << t.error;
  EXPECT_NE(t.error.find(std::to_string(port)), std::string::npos) << t.error;
}

TEST(AgentsLlmClient, AnthropicHeadersBodyAndCachedTokens) {
  ScriptedServer s({reply_file("anthropic_ok.json")});
  LlmConfig c = openai_config(s);
  c.provider = "anthropic";
  c.base_url = s.url();
  c.model = "scripted-claude";
  LlmClient client(c, curl_post, fake_env());
  const Transcript t = client.complete(AgentRole::Plan, prompt());
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(t.text, "Plan: fuse the RMSNorm into the QKV projection. Then widen the loads.");
  EXPECT_EQ(t.finish_reason, "end_turn");
  EXPECT_EQ(t.tokens_in, 420);  // input + cache writes + cache reads
  EXPECT_EQ(t.tokens_out, 42);
  const auto got = s.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path, "/v1/messages");
  EXPECT_EQ(got[0].header("x-api-key"), kKey);
  EXPECT_EQ(got[0].header("anthropic-version"), "2023-06-01");
  EXPECT_FALSE(got[0].has_header("Authorization"));
  const auto body = nlohmann::json::parse(got[0].body);
  EXPECT_EQ(body["system"], "You optimise CUDA.");
  ASSERT_EQ(body["messages"].size(), 1u);  // system text is not a message in this API
  EXPECT_EQ(body["messages"][0]["role"], "user");
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.8);
  expect_no_key(t);
}

TEST(AgentsLlmClient, AnthropicErrorMessageIsQuoted) {
  ScriptedServer s({reply_file("anthropic_error_401.json", 401)});
  LlmConfig c = openai_config(s);
  c.provider = "anthropic";
  c.base_url = s.url();
  LlmClient client(c, curl_post, fake_env());
  const Transcript t = client.complete(AgentRole::Plan, prompt());
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(s.received().size(), 1u);
  EXPECT_NE(t.error.find("HTTP 401"), std::string::npos) << t.error;
  EXPECT_NE(t.error.find("invalid x-api-key (authentication_error)"), std::string::npos) << t.error;
  expect_no_key(t);
}

TEST(AgentsLlmClient, KeyIsReadFromTheNamedEnvironmentVariable) {
  ScriptedServer s({reply_file("openai_plan_ok.json")});
  LlmConfig c = openai_config(s);
  c.api_key_env = "TESSERA_TEST_REAL_ENV_KEY";
  setenv("TESSERA_TEST_REAL_ENV_KEY", "from-the-environment", 1);
  LlmClient client(c);  // the process environment
  ASSERT_TRUE(client.complete(AgentRole::Plan, prompt()).ok());
  unsetenv("TESSERA_TEST_REAL_ENV_KEY");
  EXPECT_EQ(s.received().at(0).header("Authorization"), "Bearer from-the-environment");
}

TEST(AgentsLlmClient, MissingKeyVariableFailsAtConstruction) {
  LlmConfig c;
  c.base_url = "http://127.0.0.1:9/v1";
  c.model = "m";
  c.api_key_env = "TESSERA_TEST_UNSET_KEY_VARIABLE";
  try {
    LlmClient client(c, curl_post, fake_env());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("TESSERA_TEST_UNSET_KEY_VARIABLE"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not set"), std::string::npos) << e.what();
  }
}

TEST(AgentsLlmClient, NoKeyVariableSendsNoAuthHeader) {
  ScriptedServer s({reply_file("openai_plan_ok.json")});
  LlmConfig c = openai_config(s);
  c.api_key_env.clear();  // a local llama.cpp or vLLM server
  LlmClient client(c, curl_post, fake_env());
  ASSERT_TRUE(client.complete(AgentRole::Plan, prompt()).ok());
  EXPECT_FALSE(s.received().at(0).has_header("Authorization"));
}

TEST(AgentsLlmClient, TranscriptsAreReturnedEvenWithoutMessages) {
  ScriptedServer s({});
  LlmClient client(openai_config(s), curl_post, fake_env());
  const Transcript t = client.complete(AgentRole::Plan, {});
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(s.received().size(), 0u);
  EXPECT_EQ(t.role, "plan");
}

}  // namespace
}  // namespace tessera::agents

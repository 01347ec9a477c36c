// LLM configuration: file keys, env overrides, checks that name the field, the key never
// accepted in place of its variable's name; and the pure retry arithmetic.
#include "agents/llm_config.h"
#include "agents/retry_policy.h"
#include "core/error.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>

namespace tessera::agents {
namespace {

using test::error_of;

TEST(AgentsLlmConfig, JsonRoundTripAndDefaults) {
  const auto j = nlohmann::json::parse(R"({
    "provider": "anthropic", "base_url": "https://api.anthropic.com", "model": "claude-x",
    "api_key_env": "ANTHROPIC_API_KEY", "temperature": {"plan": 0.9},
    "max_tokens": 2048, "retry": {"max_attempts": 6}})");
  const LlmConfig c = llm_config_from_json(j, "cfg.json");
  EXPECT_EQ(c.provider, "anthropic");
  EXPECT_DOUBLE_EQ(c.temperature(AgentRole::Plan), 0.9);
  EXPECT_DOUBLE_EQ(c.temperature(AgentRole::Code), 0.1);  // default kept
  EXPECT_DOUBLE_EQ(c.temperature(AgentRole::Debug), 0.1);
  EXPECT_EQ(c.max_tokens, 2048);
  EXPECT_EQ(c.retry.max_attempts, 6);
  EXPECT_NO_THROW(check_llm_config(c));
  const LlmConfig back = llm_config_from_json(llm_config_to_json(c), "round trip");
  EXPECT_EQ(llm_config_to_json(back), llm_config_to_json(c));
}

TEST(AgentsLlmConfig, UnknownKeysAndWrongTypesAreNamed) {
  auto e = error_of([] { llm_config_from_json(nlohmann::json::parse(R"({"modle": "x"})"), "cfg.json"); });
  EXPECT_NE(e.find("cfg.json: unknown key 'modle'"), std::string::npos) << e;
  e = error_of([] { llm_config_from_json(nlohmann::json::parse(R"({"temperature": {"plan": "hot"}})"), "cfg.json"); });
  EXPECT_NE(e.find("'plan' has the wrong type"), std::string::npos) << e;
  e = error_of([] { llm_config_from_json(nlohmann::json::parse(R"({"temperature": {"review": 0.3}})"), "c"); });
  EXPECT_NE(e.find("unknown key 'review'"), std::string::npos) << e;
  e = error_of([] { load_llm_config("/nonexistent/llm.json"); });
  EXPECT_NE(e.find("/nonexistent/llm.json"), std::string::npos) << e;
}

TEST(AgentsLlmConfig, EnvironmentOverridesTheFile) {
  LlmConfig c;
  c.model = "from-file";
  std::map<std::string, std::string> env{{"TESSERA_LLM_BASE_URL", "http://127.0.0.1:8080/v1"},
                                         {"TESSERA_LLM_MODEL", "from-env"},
                                         {"TESSERA_LLM_TIMEOUT_S", "45"}};
  apply_llm_env(c, [&](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  });
  EXPECT_EQ(c.base_url, "http://127.0.0.1:8080/v1");
  EXPECT_EQ(c.model, "from-env");
  EXPECT_DOUBLE_EQ(c.timeout_s, 45);
  env["TESSERA_LLM_MAX_TOKENS"] = "lots";
  const auto e = error_of([&] {
    apply_llm_env(c, [&](const char* n) -> const char* {
      auto it = env.find(n);
      return it == env.end() ? nullptr : it->second.c_str();
    });
  });
  EXPECT_NE(e.find("TESSERA_LLM_MAX_TOKENS='lots' is not a number"), std::string::npos) << e;
}

TEST(AgentsLlmConfig, ChecksNameTheField) {
  LlmConfig c;
  c.model = "m";
  EXPECT_NE(error_of([&] { check_llm_config(c); }).find("base_url is not set"), std::string::npos);
  c.base_url = "ftp://host";
  EXPECT_NE(error_of([&] { check_llm_config(c); }).find("must start with http"), std::string::npos);
  c.base_url = "http://127.0.0.1:1/v1";
  c.temperature_code = 3;
  EXPECT_NE(error_of([&] { check_llm_config(c); }).find("temperature.code = 3"), std::string::npos);
  c.temperature_code = 0.1;
  c.provider = "gemini";
  EXPECT_NE(error_of([&] { check_llm_config(c); }).find("provider 'gemini'"), std::string::npos);
}

TEST(AgentsLlmConfig, AKeyInPlaceOfItsVariableNameIsRefusedWithoutEchoingIt) {
  LlmConfig c;
  c.base_url = "https://api.openai.com/v1";
  c.model = "m";
  c.api_key_env = "sk-proj-abcdef0123456789";
  const auto e = error_of([&] { check_llm_config(c); });
  EXPECT_NE(e.find("must NAME an environment variable"), std::string::npos) << e;
  EXPECT_EQ(e.find("sk-proj-abcdef0123456789"), std::string::npos) << "the key was echoed";
}

TEST(AgentsLlmConfig, FlagsOverEnvironmentOverFile) {
  const std::string path = ::testing::TempDir() + "/agents_llm_config_test.json";
  {
    std::ofstream out(path);
    out << R"({"base_url": "http://file/v1", "model": "file-model", "temperature": {"code": 0.3}, "timeout_s": 9})";
  }
  std::map<std::string, std::string> env{{"TESSERA_LLM_CONFIG", path}, {"TESSERA_LLM_MODEL", "env-model"}};
  const EnvLookup lookup = [&](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  LlmFlags flags;
  flags.timeout_s = 3;
  LlmConfig c = resolve_llm_config(flags, lookup);
  EXPECT_EQ(c.base_url, "http://file/v1");  // file
  EXPECT_EQ(c.model, "env-model");          // environment over file
  EXPECT_DOUBLE_EQ(c.timeout_s, 3);         // flag over file
  EXPECT_DOUBLE_EQ(c.temperature_code, 0.3);
  flags.model = "flag-model";
  flags.temperature_plan = 0.6;
  c = resolve_llm_config(flags, lookup);
  EXPECT_EQ(c.model, "flag-model");
  EXPECT_DOUBLE_EQ(c.temperature_plan, 0.6);
  flags.temperature_debug = 5;
  EXPECT_NE(error_of([&] { resolve_llm_config(flags, lookup); }).find("temperature.debug = 5"), std::string::npos);
  std::remove(path.c_str());
}

TEST(AgentsRetryPolicy, BackoffGrowsWithJitterAndIsCapped) {
  RetryPolicy p;
  p.base_delay_s = 1;
  p.max_delay_s = 5;
  EXPECT_DOUBLE_EQ(backoff_delay(p, 1, 0.0), 0.5);
  EXPECT_DOUBLE_EQ(backoff_delay(p, 1, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(backoff_delay(p, 3, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(backoff_delay(p, 4, 1.0), 5.0);  // capped
  EXPECT_DOUBLE_EQ(backoff_delay(p, 200, 0.0), 2.5);
  EXPECT_TRUE(is_retryable_status(429));
  EXPECT_TRUE(is_retryable_status(503));
  EXPECT_FALSE(is_retryable_status(400));
  EXPECT_FALSE(is_retryable_status(404));
}

TEST(AgentsRetryPolicy, RetryAfterForms) {
  const std::time_t now = 1700000000;  // Tue, 14 Nov 2023 22:13:20 GMT
  EXPECT_EQ(retry_after_seconds({{"retry-after", "7"}}, now), 7.0);
  EXPECT_EQ(retry_after_seconds({{"retry-after", "7"}, {"retry-after-ms", "250"}}, now), 0.25);
  EXPECT_EQ(retry_after_seconds({{"retry-after", "Tue, 14 Nov 2023 22:13:50 GMT"}}, now), 30.0);
  EXPECT_EQ(retry_after_seconds({{"retry-after", "Tue, 14 Nov 2023 22:00:00 GMT"}}, now), 0.0);  // past
  EXPECT_FALSE(retry_after_seconds({{"retry-after", "soon"}}, now).has_value());
  EXPECT_FALSE(retry_after_seconds({}, now).has_value());
}

}  // namespace
}  // namespace tessera::agents

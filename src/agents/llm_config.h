// Which LLM endpoint the agents talk to, and how. Sources, later ones winning: defaults, a
// JSON file (load_llm_config), TESSERA_LLM_* environment variables (apply_llm_env), then
// command-line flags set by the caller on the struct. The API key itself is never in a
// file, a flag or a log: the config holds the NAME of the environment variable that holds
// it, read only when a request is sent.
#pragma once

#include "agents/retry_policy.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tessera::agents {

enum class AgentRole { Plan, Code, Debug };

const char* role_name(AgentRole role);
AgentRole parse_role(std::string_view name);  // "plan" | "code" | "debug", else tessera::Error

struct LlmConfig {
  std::string provider = "openai";  // "openai" (chat completions) | "anthropic" (Messages)
  // openai: up to and including the version, e.g. https://api.openai.com/v1 or
  // http://127.0.0.1:8080/v1 (llama.cpp, vLLM); "/chat/completions" is appended.
  // anthropic: the host, e.g. https://api.anthropic.com; "/v1/messages" is appended.
  std::string base_url;
  std::string model;
  std::string api_key_env;  // e.g. "OPENAI_API_KEY"; empty: send no key (local servers)
  double temperature_plan = 0.8;  // STARK: the planner explores,
  double temperature_code = 0.1;  // the coder and debugger stay close to the instructions
  double temperature_debug = 0.1;
  int max_tokens = 4096;
  double timeout_s = 120;        // per attempt, whole transfer
  double connect_timeout_s = 10;
  RetryPolicy retry;
  std::string anthropic_version = "2023-06-01";

  double temperature(AgentRole role) const;
};

// Keys as in llm_config_to_json; unknown keys, wrong types and bad values are errors naming
// `origin` and the key (a typo must not silently fall back to a default).
LlmConfig llm_config_from_json(const nlohmann::json& j, const std::string& origin);
LlmConfig load_llm_config(const std::string& path);
nlohmann::json llm_config_to_json(const LlmConfig& c);

// TESSERA_LLM_PROVIDER, _BASE_URL, _MODEL, _API_KEY_ENV, _TIMEOUT_S, _MAX_TOKENS.
using EnvLookup = std::function<const char*(const char*)>;
void apply_llm_env(LlmConfig& c, const EnvLookup& env);

// A command's LLM flags; unset fields leave the config alone.
struct LlmFlags {
  std::string config_path;  // else $TESSERA_LLM_CONFIG, else no file
  std::string provider, base_url, model, api_key_env;
  std::optional<double> timeout_s, temperature_plan, temperature_code, temperature_debug;
  std::optional<int> max_tokens;
};

// Defaults, then the file, then the environment, then the flags; checked.
LlmConfig resolve_llm_config(const LlmFlags& flags, const EnvLookup& env);

// Everything a request needs is present and sane; throws tessera::Error naming the field.
void check_llm_config(const LlmConfig& c);

}  // namespace tessera::agents

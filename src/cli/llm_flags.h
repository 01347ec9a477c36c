// The LLM flags a command that runs agents offers (tessera tune --agents llm), bound to
// agents::LlmFlags; resolve_llm_config() layers them over the config file and the
// TESSERA_LLM_* environment. There is deliberately no flag for the key
// itself, only for the name of the variable that holds it.
#pragma once

#include "agents/llm_config.h"

#include <CLI/CLI.hpp>

namespace tessera::cli {

inline void add_llm_flags(CLI::App* cmd, agents::LlmFlags& f) {
  cmd->add_option("--llm-config", f.config_path, "LLM endpoint config JSON (docs/AGENTS.md); default $TESSERA_LLM_CONFIG");
  cmd->add_option("--llm-provider", f.provider, "openai (chat completions) or anthropic (Messages)")
      ->check(CLI::IsMember({"openai", "anthropic"}));
  cmd->add_option("--llm-base-url", f.base_url, "Endpoint base URL, e.g. http://127.0.0.1:8080/v1");
  cmd->add_option("--llm-model", f.model, "Model name sent to the endpoint");
  cmd->add_option("--llm-api-key-env", f.api_key_env, "NAME of the environment variable holding the API key");
  cmd->add_option("--llm-timeout-s", f.timeout_s, "Per-attempt timeout in seconds");
  cmd->add_option("--llm-max-tokens", f.max_tokens, "Reply token limit");
  cmd->add_option("--llm-temperature-plan", f.temperature_plan, "Plan agent temperature (default 0.8)");
  cmd->add_option("--llm-temperature-code", f.temperature_code, "Code agent temperature (default 0.1)");
  cmd->add_option("--llm-temperature-debug", f.temperature_debug, "Debug agent temperature (default 0.1)");
}

}  // namespace tessera::cli

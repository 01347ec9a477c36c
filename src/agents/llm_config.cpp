// Loading, layering and checking LlmConfig (see llm_config.h). The JSON keys mirror the struct one to
// one so a config file reads like the documentation in docs/AGENTS.md.
#include "agents/llm_config.h"

#include "core/error.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace tessera::agents {

const char* role_name(AgentRole role) {
  switch (role) {
    case AgentRole::Plan: return "plan";
    case AgentRole::Code: return "code";
    case AgentRole::Debug: return "debug";
  }
  return "?";
}

AgentRole parse_role(std::string_view name) {
  if (name == "plan") return AgentRole::Plan;
  if (name == "code") return AgentRole::Code;
  if (name == "debug") return AgentRole::Debug;
  fail("unknown agent role '{}' (expected plan, code or debug)", name);
}

double LlmConfig::temperature(AgentRole role) const {
  switch (role) {
    case AgentRole::Plan: return temperature_plan;
    case AgentRole::Code: return temperature_code;
    case AgentRole::Debug: return temperature_debug;
  }
  return temperature_code;
}

namespace {

template <typename T>
void read(const nlohmann::json& obj, const char* key, T& out, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return;
  try {
    out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("{}: '{}' has the wrong type ({})", where, key, it->type_name());
  }
  if constexpr (std::is_arithmetic_v<T>) {
    if (it->is_boolean()) fail("{}: '{}' must be a number, not a boolean", where, key);
  }
}

void reject_unknown(const nlohmann::json& obj, const std::set<std::string>& known, const std::string& where) {
  for (const auto& [k, v] : obj.items())
    if (!known.count(k)) {
      std::string list;
      for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
      fail("{}: unknown key '{}' (known: {})", where, k, list);
    }
}

}  // namespace

LlmConfig llm_config_from_json(const nlohmann::json& j, const std::string& origin) {
  if (!j.is_object()) fail("{}: an LLM config must be a JSON object", origin);
  reject_unknown(j, {"provider", "base_url", "model", "api_key_env", "temperature", "max_tokens", "timeout_s",
                     "connect_timeout_s", "retry", "anthropic_version"},
                 origin);
  LlmConfig c;
  read(j, "provider", c.provider, origin);
  read(j, "base_url", c.base_url, origin);
  read(j, "model", c.model, origin);
  read(j, "api_key_env", c.api_key_env, origin);
  read(j, "max_tokens", c.max_tokens, origin);
  read(j, "timeout_s", c.timeout_s, origin);
  read(j, "connect_timeout_s", c.connect_timeout_s, origin);
  read(j, "anthropic_version", c.anthropic_version, origin);
  if (auto t = j.find("temperature"); t != j.end()) {
    const std::string where = origin + ": temperature";
    if (!t->is_object()) fail("{} must be an object like {{\"plan\": 0.8, \"code\": 0.1, \"debug\": 0.1}}", where);
    reject_unknown(*t, {"plan", "code", "debug"}, where);
    read(*t, "plan", c.temperature_plan, where);
    read(*t, "code", c.temperature_code, where);
    read(*t, "debug", c.temperature_debug, where);
  }
  if (auto r = j.find("retry"); r != j.end()) {
    const std::string where = origin + ": retry";
    if (!r->is_object()) fail("{} must be an object", where);
    reject_unknown(*r, {"max_attempts", "base_delay_s", "max_delay_s", "max_retry_after_s"}, where);
    read(*r, "max_attempts", c.retry.max_attempts, where);
    read(*r, "base_delay_s", c.retry.base_delay_s, where);
    read(*r, "max_delay_s", c.retry.max_delay_s, where);
    read(*r, "max_retry_after_s", c.retry.max_retry_after_s, where);
  }
  return c;
}

LlmConfig load_llm_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("cannot open LLM config '{}'", path);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::parse_error& e) {
    fail("LLM config '{}' is not valid JSON: {}", path, e.what());
  }
  return llm_config_from_json(j, path);
}

nlohmann::json llm_config_to_json(const LlmConfig& c) {
  return {{"provider", c.provider},
          {"base_url", c.base_url},
          {"model", c.model},
          {"api_key_env", c.api_key_env},
          {"temperature", {{"plan", c.temperature_plan}, {"code", c.temperature_code}, {"debug", c.temperature_debug}}},
          {"max_tokens", c.max_tokens},
          {"timeout_s", c.timeout_s},
          {"connect_timeout_s", c.connect_timeout_s},
          {"retry",
           {{"max_attempts", c.retry.max_attempts},
            {"base_delay_s", c.retry.base_delay_s},
            {"max_delay_s", c.retry.max_delay_s},
            {"max_retry_after_s", c.retry.max_retry_after_s}}},
          {"anthropic_version", c.anthropic_version}};
}

namespace {

double env_number(const char* name, const char* value) {
  char* end = nullptr;
  const double v = std::strtod(value, &end);
  if (end == value || *end != '\0' || !std::isfinite(v)) fail("environment variable {}='{}' is not a number", name, value);
  return v;
}

}  // namespace

void apply_llm_env(LlmConfig& c, const EnvLookup& env) {
  auto get = [&](const char* name) -> const char* {
    const char* v = env(name);
    return v && *v ? v : nullptr;
  };
  if (auto v = get("TESSERA_LLM_PROVIDER")) c.provider = v;
  if (auto v = get("TESSERA_LLM_BASE_URL")) c.base_url = v;
  if (auto v = get("TESSERA_LLM_MODEL")) c.model = v;
  if (auto v = get("TESSERA_LLM_API_KEY_ENV")) c.api_key_env = v;
  if (auto v = get("TESSERA_LLM_TIMEOUT_S")) c.timeout_s = env_number("TESSERA_LLM_TIMEOUT_S", v);
  if (auto v = get("TESSERA_LLM_MAX_TOKENS")) {
    const double n = env_number("TESSERA_LLM_MAX_TOKENS", v);
    if (n != std::floor(n)) fail("environment variable TESSERA_LLM_MAX_TOKENS='{}' is not a whole number", v);
    c.max_tokens = static_cast<int>(n);
  }
}

namespace {

bool looks_like_a_key(const std::string& s) {
  // A variable name is [A-Za-z_][A-Za-z0-9_]*; keys have dashes ("sk-...") or are long.
  if (s.empty()) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return true;
  for (char ch : s)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) return true;
  return false;
}

void check_temperature(double t, const char* role) {
  if (!std::isfinite(t) || t < 0 || t > 2) fail("LLM config: temperature.{} = {} is outside [0, 2]", role, t);
}

}  // namespace

LlmConfig resolve_llm_config(const LlmFlags& f, const EnvLookup& env) {
  std::string path = f.config_path;
  if (path.empty())
    if (const char* p = env("TESSERA_LLM_CONFIG"); p && *p) path = p;
  LlmConfig c = path.empty() ? LlmConfig{} : load_llm_config(path);
  apply_llm_env(c, env);
  if (!f.provider.empty()) c.provider = f.provider;
  if (!f.base_url.empty()) c.base_url = f.base_url;
  if (!f.model.empty()) c.model = f.model;
  if (!f.api_key_env.empty()) c.api_key_env = f.api_key_env;
  if (f.timeout_s) c.timeout_s = *f.timeout_s;
  if (f.max_tokens) c.max_tokens = *f.max_tokens;
  if (f.temperature_plan) c.temperature_plan = *f.temperature_plan;
  if (f.temperature_code) c.temperature_code = *f.temperature_code;
  if (f.temperature_debug) c.temperature_debug = *f.temperature_debug;
  check_llm_config(c);
  return c;
}

void check_llm_config(const LlmConfig& c) {
  if (c.provider != "openai" && c.provider != "anthropic")
    fail("LLM config: provider '{}' is not supported (expected openai or anthropic)", c.provider);
  if (c.base_url.empty())
    fail("LLM config: base_url is not set (config file 'base_url' or TESSERA_LLM_BASE_URL)");
  if (c.base_url.rfind("http://", 0) != 0 && c.base_url.rfind("https://", 0) != 0)
    fail("LLM config: base_url '{}' must start with http:// or https://", c.base_url);
  if (c.model.empty()) fail("LLM config: model is not set (config file 'model' or TESSERA_LLM_MODEL)");
  if (looks_like_a_key(c.api_key_env))
    fail("LLM config: api_key_env must NAME an environment variable (like OPENAI_API_KEY), and this value is "
         "not a variable name; never put the key itself in a config file");
  check_temperature(c.temperature_plan, "plan");
  check_temperature(c.temperature_code, "code");
  check_temperature(c.temperature_debug, "debug");
  if (c.max_tokens <= 0) fail("LLM config: max_tokens = {} must be positive", c.max_tokens);
  if (!(c.timeout_s > 0)) fail("LLM config: timeout_s = {} must be positive", c.timeout_s);
  if (!(c.connect_timeout_s > 0)) fail("LLM config: connect_timeout_s = {} must be positive", c.connect_timeout_s);
  if (c.retry.max_attempts < 1 || c.retry.max_attempts > 20)
    fail("LLM config: retry.max_attempts = {} must be between 1 and 20", c.retry.max_attempts);
  if (!(c.retry.base_delay_s >= 0) || !(c.retry.max_delay_s >= c.retry.base_delay_s))
    fail("LLM config: retry delays must satisfy 0 <= base_delay_s ({}) <= max_delay_s ({})", c.retry.base_delay_s,
         c.retry.max_delay_s);
  if (!(c.retry.max_retry_after_s >= 0))
    fail("LLM config: retry.max_retry_after_s = {} must not be negative", c.retry.max_retry_after_s);
}

}  // namespace tessera::agents

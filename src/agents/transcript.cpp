// JSON form of a Transcript: the shape the search store keeps per LLM call.
#include "agents/transcript.h"

#include "core/error.h"

namespace tessera::agents {

nlohmann::json Transcript::to_json() const {
  nlohmann::json attempts_json = nlohmann::json::array();
  for (const Attempt& a : attempts)
    attempts_json.push_back({{"http_status", a.http_status}, {"waited_s", a.waited_s},
                             {"seconds", a.seconds}, {"error", a.error}});
  return {{"role", role},
          {"provider", provider},
          {"model", model},
          {"url", url},
          {"request", request},
          {"response", response},
          {"text", text},
          {"finish_reason", finish_reason},
          {"tokens_in", tokens_in},
          {"tokens_out", tokens_out},
          {"usage_reported", usage_reported},
          {"latency_s", latency_s},
          {"attempts", attempts_json},
          {"error", error}};
}

const std::string& require_text(const Transcript& t) {
  if (!t.ok()) fail("{} agent call to {} ({}) failed: {}", t.role, t.provider, t.model, t.error);
  return t.text;
}

}  // namespace tessera::agents

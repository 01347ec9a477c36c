// The record of one LLM call, whatever became of it. The caller (the search loop) stores it
// beside the candidate it produced; this layer owns no database, so a Transcript is plain
// data with a JSON form. Token counts come only from the provider's usage fields: when the
// response carries none they stay 0 and `usage_reported` is false, never an estimate.
// The API key is never part of a Transcript: requests are recorded as the JSON body sent,
// and headers (where the key travels) are not recorded at all.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::agents {

// One HTTP attempt inside a call (a call retries on 429, 5xx and connection failures).
struct Attempt {
  long http_status = 0;       // 0 when no HTTP response arrived (timeout, refused, DNS)
  double waited_s = 0;        // back-off slept before this attempt
  double seconds = 0;         // wall time of the attempt itself
  std::string error;          // empty when this attempt produced the final answer
};

struct Transcript {
  std::string role;           // "plan" | "code" | "debug"
  std::string provider;       // "openai" | "anthropic"
  std::string model;
  std::string url;            // endpoint called (never carries the key)
  nlohmann::json request;     // body sent
  nlohmann::json response;    // last body received: parsed JSON, or a string when not JSON
  std::string text;           // the assistant's reply text (empty on error)
  std::string finish_reason;  // provider's stop reason, verbatim
  int64_t tokens_in = 0;      // from the response's usage fields only
  int64_t tokens_out = 0;
  bool usage_reported = false;  // false: the response had no usage; the counts are 0, not 0 tokens
  double latency_s = 0;       // first attempt start to end, back-off included
  std::vector<Attempt> attempts;
  std::string error;          // empty on success; otherwise what failed, for people

  bool ok() const { return error.empty(); }
  nlohmann::json to_json() const;
};

// The reply text of a successful call; throws tessera::Error carrying `t.error` otherwise.
const std::string& require_text(const Transcript& t);

}  // namespace tessera::agents

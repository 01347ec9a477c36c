// Retry decisions and waits (see retry_policy.h). HTTP dates are parsed by libcurl's
// curl_getdate, which knows the three date formats RFC 9110 allows.
#include "agents/retry_policy.h"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace tessera::agents {

bool is_retryable_status(long s) { return s == 429 || (s >= 500 && s <= 599); }

double backoff_delay(const RetryPolicy& p, int retry, double u) {
  const double exp = p.base_delay_s * std::ldexp(1.0, std::clamp(retry - 1, 0, 60));
  return std::min(p.max_delay_s, exp) * (0.5 + 0.5 * std::clamp(u, 0.0, 1.0));
}

namespace {

std::optional<double> parse_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || !std::isfinite(v)) return std::nullopt;
  return std::max(0.0, v);
}

}  // namespace

std::optional<double> retry_after_seconds(const std::map<std::string, std::string>& headers, std::time_t now) {
  if (auto it = headers.find("retry-after-ms"); it != headers.end())
    if (auto ms = parse_number(it->second)) return *ms / 1000.0;
  auto it = headers.find("retry-after");
  if (it == headers.end()) return std::nullopt;
  if (auto s = parse_number(it->second)) return s;
  const std::time_t when = curl_getdate(it->second.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  return std::max(0.0, std::difftime(when, now));
}

}  // namespace tessera::agents

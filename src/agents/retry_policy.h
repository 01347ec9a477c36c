// When an LLM call is tried again, and how long it waits first. Only failures that a later
// attempt can fix are retried: 429 (rate limited), 5xx (the server's fault) and no
// response at all (refused, reset, timed out). Any other 4xx means the request itself is
// wrong, and sending it again would only spend budget.
//
// Waits grow exponentially with "equal jitter" (half fixed, half random) so that several
// agents rate-limited together do not retry in lockstep, and are capped. A server's
// Retry-After (or OpenAI's finer retry-after-ms) is a floor on the wait; one beyond
// `max_retry_after_s` ends the call instead, since retrying sooner than asked only earns
// another 429.
#pragma once

#include <ctime>
#include <map>
#include <optional>
#include <string>

namespace tessera::agents {

struct RetryPolicy {
  int max_attempts = 4;            // attempts in all, the first included
  double base_delay_s = 1.0;       // wait before the first retry (before jitter)
  double max_delay_s = 30.0;       // cap on the exponential wait
  double max_retry_after_s = 120;  // longest server-requested wait that is honoured
};

bool is_retryable_status(long http_status);

// Wait before retry number `retry` (1 for the first retry), given a uniform `u` in [0, 1):
// min(max_delay, base * 2^(retry-1)) * (0.5 + 0.5 u).
double backoff_delay(const RetryPolicy& policy, int retry, double u);

// The server-requested wait from lower-cased response headers: retry-after-ms, else
// Retry-After as seconds or an HTTP date (relative to `now`). nullopt when absent or
// unparseable; never negative.
std::optional<double> retry_after_seconds(const std::map<std::string, std::string>& headers,
                                          std::time_t now);

}  // namespace tessera::agents

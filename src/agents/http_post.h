// One HTTP POST, as a replaceable function. The LLM clients take an HttpTransport so the
// retry and parsing logic can be driven by a test double as well as by libcurl; the
// default transport is curl_post(). A transport never throws for network trouble: it
// reports it in `transport_error`, because whether to retry is the caller's decision.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tessera::agents {

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // may carry secrets: never log
  std::string body;
  double timeout_s = 120;         // whole transfer
  double connect_timeout_s = 10;  // TCP + TLS handshake
};

struct HttpResponse {
  long status = 0;                             // 0 when no response arrived
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins
  std::string body;
  std::string transport_error;                 // non-empty: no usable HTTP response
  bool timed_out = false;
};

using HttpTransport = std::function<HttpResponse(const HttpRequest&)>;

// libcurl, http and https only, no signals (safe in threads), no redirects followed (an
// API endpoint that redirects is misconfigured, and a redirect could carry the key away).
HttpResponse curl_post(const HttpRequest& request);

}  // namespace tessera::agents

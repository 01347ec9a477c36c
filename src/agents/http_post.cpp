// libcurl behind HttpTransport. One easy handle per request: LLM calls take seconds, so
// connection reuse saves nothing worth the shared state. CURLOPT_NOSIGNAL keeps timeouts
// safe when several agents call from worker threads. Verbose output stays off because it
// would print request headers, which carry the API key.
#include "agents/http_post.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>
#include <mutex>

namespace tessera::agents {

namespace {

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// A reply larger than this is no chat answer; stop reading rather than exhaust memory.
constexpr size_t kMaxBodyBytes = size_t{64} << 20;

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * count > kMaxBodyBytes) return 0;  // curl then fails with CURLE_WRITE_ERROR
  body->append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * count);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    const size_t b = value.find_first_not_of(" \t");
    const size_t e = value.find_last_not_of(" \t\r\n");
    (*headers)[name] = b == std::string::npos ? "" : value.substr(b, e - b + 1);
  } else if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();  // a new status line (e.g. after 100 Continue): earlier headers are not this response's
  }
  return size * count;
}

long to_ms(double seconds) { return std::max(1L, std::lround(seconds * 1000.0)); }

}  // namespace

HttpResponse curl_post(const HttpRequest& request) {
  init_curl_once();
  HttpResponse out;
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    out.transport_error = "libcurl could not create a handle";
    return out;
  }
  curl_slist* list = nullptr;
  for (const auto& [name, value] : request.headers) list = curl_slist_append(list, (name + ": " + value).c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip on large prompts
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_list(list, curl_slist_free_all);

  char error_buffer[CURL_ERROR_SIZE] = {0};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, to_ms(request.timeout_s));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, to_ms(request.connect_timeout_s));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &out.headers);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);

  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    out.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    out.status = 0;
    out.body.clear();
    out.transport_error = rc == CURLE_WRITE_ERROR
                              ? fmt::format("the response exceeds {} MiB; refusing to read more", kMaxBodyBytes >> 20)
                          : out.timed_out
                              ? fmt::format("no response within {:.3g} s (timeout)", request.timeout_s)
                              : fmt::format("{} ({})", error_buffer[0] ? error_buffer : curl_easy_strerror(rc),
                                            curl_easy_strerror(rc));
    return out;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out.status);
  return out;
}

}  // namespace tessera::agents

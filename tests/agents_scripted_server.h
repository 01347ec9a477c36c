// A scripted LLM endpoint for tests: an HTTP server on 127.0.0.1 (ephemeral port) that
// answers each POST with the next canned reply (status, headers, body from
// tests/data/agents/, optional delay) and records what it received, so tests can check
// the exact request a client sent (headers, body) without any network beyond loopback.
// When the script runs out it answers 418, which no client retries, so a test that
// expected fewer calls fails loudly instead of hanging.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace tessera::test {

inline std::string agents_data(const std::string& name) {
  const std::string path = source_dir() + "/tests/data/agents/" + name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("missing test data " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct ScriptedReply {
  int status = 200;
  std::string body;
  std::map<std::string, std::string> headers;
  int delay_ms = 0;  // sleep before answering (a timeout case)
};

inline ScriptedReply reply_file(const std::string& name, int status = 200,
                                std::map<std::string, std::string> headers = {}, int delay_ms = 0) {
  return {status, agents_data(name), std::move(headers), delay_ms};
}

struct ReceivedRequest {
  std::string path;
  httplib::Headers headers;  // case-insensitive names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool has_header(const std::string& name) const { return headers.find(name) != headers.end(); }
};

class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<ScriptedReply> script) : script_(script.begin(), script.end()) {
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      ScriptedReply reply;
      {
        std::lock_guard<std::mutex> lock(mu_);
        received_.push_back({req.path, req.headers, req.body});
        if (script_.empty()) {
          reply = {418, R"({"error": {"message": "scripted server: no reply left in the script"}})", {}, 0};
        } else {
          reply = script_.front();
          script_.pop_front();
        }
      }
      if (reply.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(reply.delay_ms));
      res.status = reply.status;
      for (const auto& [k, v] : reply.headers) res.set_header(k, v);
      res.set_content(reply.body, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("scripted server: cannot bind 127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }

  ~ScriptedServer() {
    // stop() is a no-op until the accept loop runs; wait for it (bounded) so join returns.
    for (int i = 0; i < 2000 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  std::vector<ReceivedRequest> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::deque<ScriptedReply> script_;
  std::vector<ReceivedRequest> received_;
};

}  // namespace tessera::test

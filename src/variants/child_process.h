// Running an untrusted piece of work in a child process with a wall-clock limit: the run
// gate's isolation, so a variant that hangs, faults or corrupts its CUDA context costs one
// candidate and never the tuning run. The child is spawned (posix_spawn, no shell) in a
// process group of its own; on expiry the whole group is killed, so nothing it started
// outlives it. Its stdout and stderr are read concurrently (a chatty child cannot block
// on a full pipe) and capped, so a child that floods its output cannot exhaust memory.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace tessera::variants {

struct ChildLimits {
  double timeout_s = 30;
  size_t max_output_bytes = size_t(1) << 20;  // per stream; the rest is read and dropped
};

struct ChildOutcome {
  bool timed_out = false;   // killed at the limit (exit_code/signal then describe the kill)
  int exit_code = -1;       // when it exited normally
  int signal = 0;           // when a signal ended it
  std::string out, err;     // captured stdout and stderr (capped)
  bool out_truncated = false, err_truncated = false;
  double wall_s = 0;
  // "exited with status N", "killed by signal 11 (Segmentation fault)", "timed out after 2 s"
  std::string describe() const;
};

// The end of a child's stderr for a message: its last lines, at most 600 bytes.
std::string stderr_tail(const std::string& err);

// Writes `bytes` to the file `p` (created or replaced). Throws tessera::Error on failure.
void write_bytes(const std::filesystem::path& p, const std::string& bytes);
// The whole file `p`. Throws tessera::Error naming `what` and the path when it cannot be read.
std::string read_bytes(const std::filesystem::path& p, const std::string& what);

// A fresh private directory (mkdtemp) for the files a child reads and writes, removed with
// everything in it when this goes out of scope.
struct ChildWorkDir {
  std::filesystem::path path;
  ChildWorkDir();
  ~ChildWorkDir();
  ChildWorkDir(const ChildWorkDir&) = delete;
  ChildWorkDir& operator=(const ChildWorkDir&) = delete;
  // Writes `bytes` to path / name and returns that path. Throws tessera::Error on failure.
  std::filesystem::path write(const std::string& name, const std::string& bytes) const;
};

// Runs argv[0] (a path, not looked up in PATH) with argv. Throws tessera::Error when the
// child cannot be started at all (no such file, not executable).
ChildOutcome run_child(const std::vector<std::string>& argv, const ChildLimits& limits);

}  // namespace tessera::variants

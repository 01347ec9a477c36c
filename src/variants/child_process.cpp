// posix_spawn + poll + waitpid (see child_process.h). The deadline is one monotonic
// instant: reading output and waiting for the exit both stop at it, so a child that
// closes its pipes and then hangs is still killed on time.
#include "variants/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <thread>

#include "core/error.h"

extern char** environ;

namespace tessera::variants {

namespace {

using Clock = std::chrono::steady_clock;

struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() {
    if (pipe2(fd, O_CLOEXEC) != 0) fail("run_child: pipe2 failed: {}", std::strerror(errno));
  }
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) close(f);
  }
  void close_end(int i) {
    if (fd[i] >= 0) close(fd[i]);
    fd[i] = -1;
  }
};

// Reads what is available on `fd` into `dst` (up to `cap`, dropping the rest); false at EOF.
bool drain(int fd, std::string& dst, size_t cap, bool& truncated) {
  char buf[65536];
  const ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  const size_t keep = std::min(size_t(n), cap > dst.size() ? cap - dst.size() : 0);
  dst.append(buf, keep);
  if (keep < size_t(n)) truncated = true;
  return true;
}

}  // namespace

ChildWorkDir::ChildWorkDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "tessera-child-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) fail("cannot create a temporary directory {}: {}", tmpl, std::strerror(errno));
  path = tmpl;
}

ChildWorkDir::~ChildWorkDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

std::string stderr_tail(const std::string& err) {
  std::string t = err.size() > 600 ? "..." + err.substr(err.size() - 600) : err;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t.empty() ? "(nothing on stderr)" : t;
}

void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out) fail("cannot write {}", p.string());
}

std::string read_bytes(const std::filesystem::path& p, const std::string& what) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail("{}: cannot read '{}'", what, p.string());
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return bytes;
}

std::filesystem::path ChildWorkDir::write(const std::string& name, const std::string& bytes) const {
  write_bytes(path / name, bytes);
  return path / name;
}

std::string ChildOutcome::describe() const {
  if (timed_out) return fmt::format("timed out after {:.3g} s and was killed", wall_s);
  if (signal) return fmt::format("killed by signal {} ({})", signal, strsignal(signal));
  return fmt::format("exited with status {}", exit_code);
}

ChildOutcome run_child(const std::vector<std::string>& argv, const ChildLimits& limits) {
  if (argv.empty()) fail("run_child: no program given");
  if (access(argv[0].c_str(), X_OK) != 0) fail("run_child: cannot execute '{}': {}", argv[0], std::strerror(errno));
  Pipe out, err;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group, so the kill reaches its children too
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const auto start = Clock::now();
  const int rc = posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) fail("run_child: cannot start '{}': {}", argv[0], std::strerror(rc));
  out.close_end(1);
  err.close_end(1);

  ChildOutcome o;
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limits.timeout_s));
  auto ms_left = [&] {
    return int(std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
  };
  bool out_open = true, err_open = true;
  while ((out_open || err_open) && ms_left() > 0) {
    pollfd fds[2];
    int n = 0;
    if (out_open) fds[n++] = {out.fd[0], POLLIN, 0};
    if (err_open) fds[n++] = {err.fd[0], POLLIN, 0};
    const int ready = poll(fds, nfds_t(n), ms_left());
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (fds[i].fd == out.fd[0]) out_open = drain(out.fd[0], o.out, limits.max_output_bytes, o.out_truncated);
      else err_open = drain(err.fd[0], o.err, limits.max_output_bytes, o.err_truncated);
    }
  }
  int status = 0;
  for (;;) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) fail("run_child: waitpid failed: {}", std::strerror(errno));
    if (ms_left() == 0 && !o.timed_out) {
      o.timed_out = true;
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (o.timed_out) kill(-pid, SIGKILL);  // anything the child left behind in its group
  o.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) o.signal = WTERMSIG(status);
  return o;
}

}  // namespace tessera::variants

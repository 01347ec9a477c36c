// The run gate's process handling, without a GPU: test-only children (/bin/sh one-liners
// and scripts standing in for `tessera variant-run`) that hang, crash, flood or answer
// garbage, and the real binary, which answers "no_device" on a machine without a GPU.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "test_util.h"
#include "variants/variant_runner.h"

namespace tessera::variants {
namespace {

const VariantSpec& spec() { return variant_spec("matvec_bf16"); }

ChildOutcome sh(const std::string& script, double timeout_s = 10) {
  ChildLimits l;
  l.timeout_s = timeout_s;
  return run_child({"/bin/sh", "-c", script}, l);
}

RunVerdict verdict_of(const std::string& script) { return verdict_from_child(sh(script), spec(), 2, 10); }

// Whether `pid` is gone (or a zombie nobody reaped yet: it runs nothing).
bool process_gone(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

TEST(VariantRunner, ChildOutputAndExitStatusAreCaptured) {
  const ChildOutcome o = sh("echo out; echo err >&2; exit 3");
  EXPECT_FALSE(o.timed_out);
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(o.signal, 0);
  EXPECT_EQ(o.out, "out\n");
  EXPECT_EQ(o.err, "err\n");
  EXPECT_EQ(o.describe(), "exited with status 3");
}

TEST(VariantRunner, TimeoutKillsTheWholeProcessGroup) {
  // The shell starts a grandchild, reports its pid and waits: both must die at the limit.
  const auto start = std::chrono::steady_clock::now();
  const ChildOutcome o = sh("sleep 60 & echo $!; wait", 0.5);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(o.timed_out);
  EXPECT_EQ(o.signal, SIGKILL);
  EXPECT_LT(s, 5.0);
  const int grandchild = std::stoi(o.out);
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = process_gone(grandchild);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone) << "the grandchild " << grandchild << " outlived the timeout";
  const RunVerdict v = verdict_from_child(o, spec(), 2, 0.5);
  EXPECT_EQ(v.verdict, "reject");
  EXPECT_EQ(v.kind, "timeout");
  EXPECT_NE(v.reason.find("ran past the run gate's 0.5 s limit"), std::string::npos) << v.reason;
}

TEST(VariantRunner, AChildThatClosesItsPipesAndHangsIsStillKilled) {
  const ChildOutcome o = sh("exec >/dev/null 2>&1; sleep 60", 0.5);
  EXPECT_TRUE(o.timed_out);
  EXPECT_LT(o.wall_s, 5.0);
}

TEST(VariantRunner, CrashIsAVerdictNotACrash) {
  const RunVerdict v = verdict_of("echo 'about to fault' >&2; kill -SEGV $$");
  EXPECT_EQ(v.verdict, "reject");
  EXPECT_EQ(v.kind, "crash");
  EXPECT_NE(v.reason.find("killed by signal 11"), std::string::npos) << v.reason;
  EXPECT_NE(v.reason.find("about to fault"), std::string::npos) << v.reason;
}

TEST(VariantRunner, NonZeroExitIsRejectedWithItsStderr) {
  const RunVerdict v = verdict_of("echo 'variant-run: cannot read the image' >&2; exit 1");
  EXPECT_EQ(v.kind, "child_error");
  EXPECT_NE(v.reason.find("exited with status 1: variant-run: cannot read the image"), std::string::npos) << v.reason;
}

TEST(VariantRunner, MalformedAnswersAreRejected) {
  EXPECT_EQ(verdict_of("true").kind, "malformed");
  EXPECT_NE(verdict_of("true").reason.find("without printing a verdict line"), std::string::npos);
  EXPECT_EQ(verdict_of("echo 'not json'").kind, "malformed");
  EXPECT_EQ(verdict_of("echo '[1, 2]'").kind, "malformed");
  EXPECT_EQ(verdict_of("echo '{\"status\": \"great\"}'").kind, "malformed");
  // "pass" must report every trial, each passed.
  const RunVerdict bare = verdict_of("echo '{\"status\": \"pass\"}'");
  EXPECT_EQ(bare.verdict, "reject");
  EXPECT_EQ(bare.kind, "malformed");
  const RunVerdict short_pass = verdict_of(
      "echo '{\"status\": \"pass\", \"trials\": [{\"passed\": true}, {\"passed\": true}, {\"passed\": true}]}'");
  EXPECT_EQ(short_pass.kind, "malformed");  // 2 shapes x 2 trials expected
  const RunVerdict lying = verdict_of(
      "echo '{\"status\": \"pass\", \"trials\": [{\"passed\": true}, {\"passed\": false}, {\"passed\": true}, "
      "{\"passed\": true}]}'");
  EXPECT_EQ(lying.kind, "malformed");
}

TEST(VariantRunner, ATimedCheckMustReportItsTimingAndTheTimeShapesCheck) {
  const std::string trials = "\"trials\": [{\"passed\": true}, {\"passed\": true}, {\"passed\": true}, {\"passed\": true}]";
  const std::string timing =
      "\"timing\": {\"candidate_median_s\": 7e-5, \"leader_median_s\": 8e-5, \"ratio_median\": 0.87}";
  auto timed = [](const std::string& line) { return verdict_from_child(sh("echo '" + line + "'"), spec(), 2, 10, true); };
  EXPECT_EQ(timed("{\"status\": \"pass\", " + trials + "}").kind, "malformed") << "asked to time, it did not";
  EXPECT_EQ(timed("{\"status\": \"pass\", " + trials + ", " + timing + "}").kind, "malformed")
      << "the time shape's own check is missing";
  EXPECT_EQ(timed("{\"status\": \"pass\", " + trials + ", " + timing + ", \"time_trial\": {\"passed\": false}}").kind,
            "malformed");
  const RunVerdict ok = timed("{\"status\": \"pass\", " + trials + ", " + timing + ", \"time_trial\": {\"passed\": true}}");
  EXPECT_EQ(ok.verdict, "pass");
  EXPECT_DOUBLE_EQ(ok.timing["ratio_median"].get<double>(), 0.87);
  const RunVerdict untimed = verdict_of("echo '{\"status\": \"pass\", " + trials + ", " + timing + "}'");
  EXPECT_EQ(untimed.verdict, "pass");
  EXPECT_TRUE(untimed.timing.is_null()) << "a check that was not asked to time reports no timing";
}

TEST(VariantRunner, WellFormedAnswersMapToVerdicts) {
  const RunVerdict pass = verdict_of(
      "echo 'noise first'; echo '{\"status\": \"pass\", \"trials\": [{\"passed\": true}, {\"passed\": true}, "
      "{\"passed\": true}, {\"passed\": true}]}'");
  EXPECT_EQ(pass.verdict, "pass");
  EXPECT_EQ(pass.kind, "pass");
  const RunVerdict fail = verdict_of("echo '{\"status\": \"fail\", \"reason\": \"shape 75x1031: 3 outputs\"}'");
  EXPECT_EQ(fail.verdict, "reject");
  EXPECT_EQ(fail.kind, "fail");
  EXPECT_EQ(fail.reason, "shape 75x1031: 3 outputs");
  EXPECT_EQ(fail.child["status"], "fail");
  const RunVerdict fault = verdict_of("echo '{\"status\": \"fault\", \"reason\": \"illegal address\"}'");
  EXPECT_EQ(fault.kind, "fault");
  const RunVerdict none = verdict_of("echo '{\"status\": \"no_device\", \"reason\": \"no CUDA device\"}'");
  EXPECT_EQ(none.verdict, "unavailable");
  EXPECT_EQ(none.kind, "no_device");
}

TEST(VariantRunner, FloodedOutputIsCapped) {
  ChildLimits l;
  l.max_output_bytes = 1000;
  const ChildOutcome o = run_child({"/bin/sh", "-c", "head -c 3000000 /dev/zero"}, l);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.out.size(), 1000u);
  EXPECT_TRUE(o.out_truncated);
}

TEST(VariantRunner, AMissingProgramIsAnError) {
  EXPECT_NE(test::error_of([] { run_child({"/nonexistent/tessera"}, {}); }).find("cannot execute '/nonexistent/tessera'"),
            std::string::npos);
}

// A stand-in for `tessera variant-run` that answers with the arguments it got, so the test
// sees what the parent passed: the image exists while the child runs, and every check
// draws a fresh seed.
TEST(VariantRunner, RunGatePassesTheImageAndAFreshSeedEachCall) {
  test::TempDir dir;
  const std::string script = dir.file("fake-tessera");
  {
    std::ofstream f(script);
    f << "#!/bin/sh\n"
         "for a in \"$@\"; do if [ -n \"$want\" ]; then img=\"$a\"; want=; fi; [ \"$a\" = --image ] && want=1; done\n"
         "[ -f \"$img\" ] && have=yes || have=no\n"
         "printf '{\"status\": \"no_device\", \"reason\": \"%s image=%s %s\"}\\n' \"$*\" \"$have\" \"$(cat \"$img\")\"\n";
  }
  chmod(script.c_str(), 0755);
  RunGateOptions o;
  o.tessera_binary = script;
  const RunVerdict a = run_gate("PTX-IMAGE", spec(), o);
  const RunVerdict b = run_gate("PTX-IMAGE", spec(), o);
  ASSERT_EQ(a.kind, "no_device") << a.reason;
  EXPECT_NE(a.reason.find("variant-run --entry matvec_bf16 --image "), std::string::npos) << a.reason;
  EXPECT_NE(a.reason.find("--seed " + std::to_string(a.seed) + " --trials-per-shape 2"), std::string::npos) << a.reason;
  EXPECT_NE(a.reason.find("image=yes PTX-IMAGE"), std::string::npos) << a.reason;
  EXPECT_NE(a.seed, b.seed);
  o.seed = 42;  // a pinned seed reproduces a verdict
  EXPECT_EQ(run_gate("PTX-IMAGE", spec(), o).seed, 42u);
}

// The real child on this machine: with no GPU (CI) it must say so, not crash.
TEST(VariantRunner, RealChildWithoutAGpuSaysNoDevice) {
  RunGateOptions o;
  o.tessera_binary = TESSERA_BINARY;
  const RunVerdict v = run_gate("not a real image", spec(), o);
  if (v.kind != "no_device") GTEST_SKIP() << "a GPU is present (" << v.reason << "): tests/cuda covers the device path";
  EXPECT_EQ(v.verdict, "unavailable");
  EXPECT_NE(v.reason.find("no CUDA device"), std::string::npos) << v.reason;
  EXPECT_EQ(v.child["entry"], "matvec_bf16");
}

}  // namespace
}  // namespace tessera::variants

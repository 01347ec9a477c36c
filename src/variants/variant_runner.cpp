// Run gate, parent side (see variant_runner.h): an image file in a private temporary
// directory, the child, and the mapping from its outcome to a verdict.
#include "variants/variant_runner.h"

#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"

namespace tessera::variants {

namespace {

using nlohmann::json;

RunVerdict make(const std::string& verdict, const std::string& kind, const std::string& reason) {
  RunVerdict v;
  v.verdict = verdict;
  v.kind = kind;
  v.reason = reason;
  return v;
}

// A directory only this process writes, removed with everything in it.
uint64_t fresh_seed() {
  std::random_device rd;
  return (uint64_t(rd()) << 32) ^ rd();
}

}  // namespace

json RunVerdict::to_json() const {
  json j{{"verdict", verdict}, {"kind", kind}, {"reason", reason}, {"seed", seed}, {"wall_s", wall_s}};
  if (!child.is_null()) j["child"] = child;
  if (!timing.is_null()) j["timing"] = timing;
  return j;
}

std::string self_executable() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) fail("run gate: cannot resolve /proc/self/exe: {}", ec.message());
  return p.string();
}

RunVerdict verdict_from_child(const ChildOutcome& o, const VariantSpec& spec, int trials_per_shape, double timeout_s,
                              bool timed) {
  if (o.timed_out)
    return make("reject", "timeout",
                fmt::format("the variant ran past the run gate's {:.3g} s limit and was killed (a hang or an endless loop)",
                            timeout_s));
  if (o.signal)
    return make("reject", "crash", fmt::format("the run-gate child was {}: {}", o.describe(), stderr_tail(o.err)));
  if (o.exit_code != 0)
    return make("reject", "child_error", fmt::format("the run-gate child {}: {}", o.describe(), stderr_tail(o.err)));
  // The verdict is the last non-empty line.
  std::string line;
  {
    size_t end = o.out.find_last_not_of("\r\n");
    if (end != std::string::npos) {
      const size_t begin = o.out.rfind('\n', end);
      line = o.out.substr(begin == std::string::npos ? 0 : begin + 1, end + 1 - (begin == std::string::npos ? 0 : begin + 1));
    }
  }
  if (line.empty()) return make("reject", "malformed", "the run-gate child exited 0 without printing a verdict line");
  json j;
  try {
    j = json::parse(line);
  } catch (const json::parse_error& e) {
    return make("reject", "malformed", fmt::format("the run-gate child's verdict line is not JSON ({}): {}", e.what(),
                                                   line.substr(0, 200)));
  }
  if (!j.is_object() || !j.contains("status") || !j["status"].is_string())
    return make("reject", "malformed", "the run-gate child's verdict line has no \"status\": " + line.substr(0, 200));
  const std::string status = j["status"].get<std::string>();
  const std::string reason = j.value("reason", std::string());
  RunVerdict v;
  if (status == "pass") {
    const size_t want = size_t(trials_per_shape) * spec.shapes.size();
    const json& trials = j.contains("trials") ? j["trials"] : json();
    bool all = trials.is_array() && trials.size() == want;
    for (size_t i = 0; all && i < trials.size(); ++i) all = trials[i].is_object() && trials[i].value("passed", false);
    const json t = j.contains("timing") ? j["timing"] : json();
    const bool timing_ok = !timed || (t.is_object() && t.value("ratio_median", 0.0) > 0 &&
                                      t.value("candidate_median_s", 0.0) > 0 && t.value("leader_median_s", 0.0) > 0 &&
                                      j.contains("time_trial") && j["time_trial"].is_object() &&
                                      j["time_trial"].value("passed", false));
    if (!all)
      v = make("reject", "malformed",
               fmt::format("the run-gate child said pass without reporting {} passed trials", want));
    else if (!timing_ok)
      v = make("reject", "malformed", "the run-gate child said pass without the timed check it was asked for");
    else
      v = make("pass", "pass", fmt::format("{} trials over {} shapes matched the CPU twin, guards and inputs intact", want,
                                           spec.shapes.size()));
    if (v.verdict == "pass" && timed) v.timing = t;
  } else if (status == "fail" || status == "fault" || status == "load_failed") {
    v = make("reject", status, reason.empty() ? status : reason);
  } else if (status == "no_device") {
    v = make("unavailable", "no_device", reason.empty() ? "no CUDA device" : reason);
  } else {
    v = make("reject", "malformed", fmt::format("the run-gate child answered an unknown status \"{}\"", status));
  }
  v.child = j;
  return v;
}

RunVerdict run_gate(const std::string& image, const VariantSpec& spec, const RunGateOptions& options) {
  if (image.empty()) fail("run gate: empty image (compile the variant first)");
  const uint64_t seed = options.seed ? *options.seed : fresh_seed();
  const ChildWorkDir dir;
  const std::filesystem::path path = dir.write("variant.image", image);
  const std::string binary = options.tessera_binary.empty() ? self_executable() : options.tessera_binary;
  ChildLimits limits;
  limits.timeout_s = options.timeout_s;
  std::vector<std::string> argv{binary,   "variant-run", "--entry", spec.name, "--image", path.string(), "--seed",
                                std::to_string(seed), "--trials-per-shape", std::to_string(options.trials_per_shape)};
  const bool timed = !options.time_against.empty();
  if (timed) {
    const std::filesystem::path leader = dir.write("leader.image", options.time_against);
    argv.insert(argv.end(), {"--time-against", leader.string(), "--time-pairs", std::to_string(options.time_pairs)});
  }
  const ChildOutcome o = run_child(argv, limits);
  RunVerdict v = verdict_from_child(o, spec, options.trials_per_shape, options.timeout_s, timed);
  v.seed = seed;
  v.wall_s = o.wall_s;
  return v;
}

}  // namespace tessera::variants

// The run gate's parent side: runs `tessera variant-run` on a compiled variant in a child
// process with a wall-clock limit and turns whatever happened into a verdict with a reason.
// The child is the same tessera binary (by default this process's own executable), so
// the device code lives only in a process that may die: a hang, a fault that poisons the
// CUDA context or a crash costs this candidate and nothing else.
//
// Each check draws a fresh seed (std::random_device) unless the caller pins one to
// reproduce a verdict; the verdict records it. Nothing but the child's exit 0 with a
// well-formed "pass" line that reports every trial counts as a pass.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "variants/child_process.h"
#include "variants/variant_spec.h"

namespace tessera::variants {

struct RunGateOptions {
  std::string tessera_binary;      // empty: this process's executable
  double timeout_s = 30;
  int trials_per_shape = 2;
  std::optional<uint64_t> seed;    // empty: a fresh one per check
  // Non-empty: a timed check (cuda/variant_launch.h, VariantTiming) against this image, the
  // leader's PTX; the verdict's `timing` holds the result and a pass without it is malformed.
  std::string time_against;
  int time_pairs = 30;
};

struct RunVerdict {
  std::string verdict;  // "pass", "reject" or "unavailable" (no device: nothing was judged)
  // "pass", "fail" (a check failed), "fault" (the kernel faulted), "load_failed",
  // "timeout", "crash" (the child died of a signal), "child_error" (non-zero exit),
  // "malformed" (no or a bad verdict line), "no_device"
  std::string kind;
  std::string reason;
  uint64_t seed = 0;
  double wall_s = 0;
  nlohmann::json child;  // the child's verdict line, when it printed one
  // A timed check's result: {shape, pairs, candidate_median_s, candidate_spread,
  // leader_median_s, ratio_median, ratio_p10, ratio_p90, weight_bytes}; null otherwise.
  nlohmann::json timing;
  nlohmann::json to_json() const;
};

// Runs the gate on `image` (PTX or cubin from the compile gate).
RunVerdict run_gate(const std::string& image, const VariantSpec& spec, const RunGateOptions& options = {});

// The verdict for a finished child (exposed so tests can feed it any outcome).
RunVerdict verdict_from_child(const ChildOutcome& outcome, const VariantSpec& spec, int trials_per_shape,
                              double timeout_s, bool timed = false);

// This process's executable (/proc/self/exe resolved).
std::string self_executable();

}  // namespace tessera::variants

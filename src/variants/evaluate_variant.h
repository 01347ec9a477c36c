// The three gates in order for one agent-written variant: static (tokens, no compiler),
// compile (NVRTC in a child process with a time limit, no GPU) and run (a child process on
// the GPU). Each gate's verdict is
// reported; a gate after a rejection is "skipped", a gate this machine cannot run
// (no NVRTC, no device) is "unavailable", and the overall verdict is "accepted" only
// when all three passed: a variant is never accepted on the gates that happened to run.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "variants/variant_compile.h"
#include "variants/variant_compile_isolated.h"
#include "variants/variant_runner.h"
#include "variants/variant_spec.h"

namespace tessera::variants {

struct EvaluateOptions {
  bool run = true;  // false: stop after the compile gate (the run gate reports "skipped")
  CompileOptions compile;
  double compile_timeout_s = 60;  // the compile gate's child (variant_compile_isolated.h)
  RunGateOptions run_gate;        // its tessera_binary also runs the compile gate's child
  // A timed run gate: against run_gate.time_against, or against the variant itself when
  // that is empty (a search's first candidate, which has no leader yet).
  bool timed = false;
};

// {"entry", "verdict": "accepted" | "rejected" | "incomplete",
//  "gates": {"static": {...}, "compile": {...}, "run": {...}}}; each gate has "verdict"
// ("pass", "reject", "unavailable", "skipped") and its details.
// `ptx` (may be null) receives the compiled PTX when the compile gate passed: what a later
// timed check runs as the leader (RunGateOptions::time_against).
nlohmann::json evaluate_variant(const std::string& source, const VariantSpec& spec, const EvaluateOptions& options = {},
                                std::string* ptx = nullptr);

}  // namespace tessera::variants

// Runs a plan on the emulator beside the CPU reference engine and compares them: the
// check behind `tessera emulate` and CI's proof that a lowering is right.
//
// The engine runs the prompt then greedy steps; every emulator run is fed the same tokens
// (teacher-forced), so errors are per position and comparable across runs. Per position
// the error is max_i |emu_i - ref_i| / max_i |ref_i| (relative to the logits' scale: a
// per-element ratio would explode at logits near zero), and the plan's next token must be
// the engine's greedy token. Runs with K seeds must agree with each other exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "emulate/emulator.h"
#include "model/model.h"
#include "plan/plan.h"

namespace tessera {

struct ReferenceCheckOptions {
  std::vector<int> prompt;  // at least one token
  int steps = 0;            // greedy steps after the prompt
  int interleavings = 1;    // runs with seeds emulator.seed, emulator.seed + 1, ...
  EmulatorOptions emulator;
  int engine_threads = 0;
};

struct ReferenceRun {
  uint64_t seed = 0;
  std::vector<int> tokens;          // the plan's next token at each position
  std::vector<double> rel_error;    // per position
  double seconds_per_step = 0;
  double serial_seconds_per_step = 0;  // of which in the serial checks (Emulator::serial_seconds)
  bool bit_identical_to_first = true;  // logits of every position equal run 0's bit for bit
};

struct ReferenceCheck {
  std::vector<int> inputs;           // token fed at each position
  std::vector<int> reference_tokens; // the engine's greedy token after each position
  double reference_seconds_per_step = 0;
  std::vector<ReferenceRun> runs;

  double max_rel_error() const;
  bool tokens_identical() const;        // every run's tokens == reference tokens
  bool interleavings_agree() const;     // every run's tokens == run 0's tokens
  bool passed(double tolerance) const;  // all three, errors <= tolerance
  std::string summary(double tolerance) const;  // multi-line, for people
};

// Throws tessera::Error when the emulator does (race, stall, ...) or inputs are invalid.
ReferenceCheck check_against_reference(const Plan& plan, const Model& model,
                                       const ReferenceCheckOptions& options);

}  // namespace tessera

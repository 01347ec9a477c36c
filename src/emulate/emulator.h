// The functional plan emulator: runs a plan's decode steps on the CPU with real arithmetic
// (the instruction twins), in random interleavings the counters allow (scheduler.h), with
// shadow state that stops the run at the first uninitialized read or unordered access
// (shadow_state.h). It has CpuEngine's forward() so it can stand in for it anywhere.
//
// Storage is allocated once per plan buffer: weights are bound by their canonical name
// (`lm_head.weight` falls back to the embedding when the model ties them) and either
// converted to f32 ("fp32" numerics, to match the reference engine) or kept in the plan's
// dtype ("gpu" numerics: bf16 where the GPU stores bf16, rounding where it rounds); state
// buffers (KV caches) persist across steps; activations and outputs are poisoned (NaN) at
// every step so an uninitialized read shows even with the shadow state off.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "emulate/instructions_cpu.h"
#include "engine/backend.h"
#include "model/model.h"
#include "plan/plan.h"

namespace tessera {

// Values of a Constant buffer (plan.buffers[buf]); lower.h's constant_values is one.
using ConstantProvider = std::function<std::vector<float>(const Plan& plan, int32_t buf)>;

struct EmulatorOptions {
  std::string numerics = "fp32";  // "fp32" | "gpu"
  uint64_t seed = 0;              // picks the interleaving
  // "rounds": reproducible from the seed (tests, the search); "free": no barrier between
  // tasks, faster on many cores, interleaving not reproducible (scheduler.h).
  std::string dispatch = "rounds";
  int threads = 0;                // worker threads standing in for SMs; 0: all cores
  std::string trace_path;         // Chrome trace JSON written by write_trace(); empty: none
  bool check_shadow = true;       // race / uninitialized-read detection
  // Constants; when empty, "rope_inv_freq" buffers are filled from engine/rope.h (the one
  // constant lower.h defines) and any other constant is an error.
  ConstantProvider constants;
};

class Emulator : public DecodeBackend {
 public:
  // Throws tessera::Error when the plan cannot run on this model: a weight it names is
  // missing or misshapen, a task's operands do not fit its opcode, the queues do not hold
  // every task exactly once, the token/logits buffers are missing, or options are invalid.
  // plan and model must outlive the emulator (weights may be views into the model).
  Emulator(const Plan& plan, const Model& model, EmulatorOptions options = {});
  ~Emulator() override;
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Runs one decode step for `token` at `pos` (pos must equal the number of steps run since
  // reset(), as CpuEngine requires). Returns the logits (valid until the next call).
  // Throws tessera::Error on a race, an uninitialized read, an unwritten output or a stall;
  // after that, forward() refuses to run until reset().
  const std::vector<float>& forward(int token, int pos) override;
  int next_token() const;  // the plan's token_output after the last forward()
  void reset() override;   // a fresh run: position 0, counters zero
  int capacity() const override;  // the plan's context
  int position() const { return int(steps_); }
  // Seconds spent so far in the serial part of every step (the happens-before and shadow
  // checks at each task's start and finish), which more worker threads cannot shorten.
  double serial_seconds() const;
  // Writes the trace to options.trace_path (no-op when empty).
  void write_trace() const;
  std::string trace_json() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t steps_ = 0;
};

}  // namespace tessera

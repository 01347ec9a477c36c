// The search-efficiency experiment (`tessera tune --sweep`): a knob subset small enough to
// evaluate exhaustively, then each policy over several seeds on the same space, counting
// the evaluations it needs to come within a tolerance of the exhaustive best. The space is
// evaluated once through the real ladder (lower, validate, emulate the same knobs on the
// check shape, cost) and the policies then read that table, so every policy sees the same
// verdicts and costs and the experiment takes minutes, not hours. Without a GPU the costs
// are predicted, and the result says so; with a Measurer (`--measure gpu`) every point is
// verified against the reference on the GPU and timed, and the result says measured.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "search/evaluate.h"
#include "search/knob_space.h"

namespace tessera {

struct SweepOptions {
  std::string shape = "llama-3.2-1b";
  std::string target = "sm_90a";
  std::vector<std::string> keys;  // the knob subset (required)
  // key=value: the policies' root (and every point's knobs outside the subset); empty: the
  // lowering defaults. A start away from the best is what tells policies apart when the
  // defaults are already the best point of the space.
  std::vector<std::string> start_knobs;
  std::vector<std::string> policies = {"stark", "evolve", "pareto", "random"};
  int seeds = 10;
  int64_t position = 1;
  double tolerance = 0.03;  // "within 3% of the exhaustive best"
  bool emulate = true;      // run the emulator rung for every point (false: validate only)
  uint64_t limit = 2000;    // the most points the sweep evaluates
  int context = 0;          // KV positions of the swept plans (0: min(model context, 4096))
  Measurer* measurer = nullptr;  // null: predicted costs; else each point verified and timed
};

struct PolicyRuns {
  std::string policy;
  std::vector<int64_t> evals;  // per seed: evaluations to reach the tolerance; -1: never
};

struct SweepResult {
  uint64_t points = 0;
  int64_t ok = 0;
  double best_s = 0, worst_s = 0, default_s = 0;  // default_s: the root's (start knobs)
  bool measured = false;                          // costs from the Measurer, not the model
  std::string best_knobs, default_knobs;
  std::vector<PolicyRuns> runs;
  double seconds = 0;  // wall time of the whole experiment
};

SweepResult run_sweep(const SweepOptions& o, std::FILE* progress);
std::string sweep_markdown(const SweepResult& r, const SweepOptions& o);

}  // namespace tessera

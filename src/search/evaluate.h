// The evaluation ladder of one candidate, cheapest rung first so a bad candidate costs as
// little as possible: lower (or take the proposed plan) -> validate (static proof; the
// first diagnostic is the log) -> emulate the same knobs on a small shape against the CPU
// reference, with fresh random weights whose seed is recorded -> on a GPU, verify against
// the reference and measure (a Measurer the CUDA side implements) -> or, without one,
// predict the cost with the cost model, labelled predicted.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "model/model.h"
#include "plan/plan.h"
#include "search/cost_model.h"
#include "search/kind_times.h"
#include "search/knob_space.h"
#include "search/operators.h"
#include "search/store.h"

namespace tessera {

struct Measurement {
  double median_s = 0;
  double spread = 0;  // (p90 - p10) / median
  std::string error;  // non-empty: the run failed (the message says why)
  KindTimes kinds;    // per instruction kind, from traced steps; empty: the measurer cannot trace
};

// Two plans timed interleaved, A B A B ...: the per-pair ratio A / B, summarised.
struct PairedRatio {
  int pairs = 0;
  double median = 0, p10 = 0, p90 = 0;
  std::string error;  // non-empty: no comparison (the message says why)
};

// The GPU side of the ladder, implemented by the lead's CUDA code; the search only calls it.
class Measurer {
 public:
  virtual ~Measurer() = default;
  virtual std::string name() const = 0;
  // Runs the plan on the GPU and compares it with the reference; the error, or "" when right.
  virtual std::string verify(const Plan& plan) = 0;
  // Times the step on its own.
  virtual Measurement measure(const Plan& plan) = 0;
  // Times `candidate` interleaved with `reference` (the current best), so drift in clocks
  // and temperature hits both alike. The default cannot: it says so in `error`, and the
  // ladder keeps the solo times.
  virtual PairedRatio compare(const Plan& candidate, const Plan& reference) {
    (void)candidate;
    (void)reference;
    PairedRatio r;
    r.error = name() + " does not time plans interleaved";
    return r;
  }
};

struct EvalSettings {
  ModelConfig model;         // the model being tuned
  std::string model_label;   // shape name or path (the plan's label)
  Target target;
  int context = 0;           // of the tuned plans (0: lowering's default)
  int64_t position = 1;      // the step position costs are for
  CostParams cost;
  Measurer* measurer = nullptr;  // null: predicted costs
  // Correctness check on a small shape lowered with the same knobs (emulate false skips
  // it: only for experiments that say so, never for a tuning run).
  bool emulate = true;
  std::string check_shape = "tiny";
  int check_context = 32;
  int check_steps = 3;
  int check_interleavings = 2;
  int check_threads = 1;  // emulator worker threads (a tuner shares the machine)
  // Whole plans (not knob sets) are emulated on the tuned model itself, which must then be
  // a built-in shape of at most this many weight parameters.
  int64_t whole_plan_check_max_params = 50'000'000;
};

struct Evaluation {
  CandidateStatus status = CandidateStatus::Pending;
  double cost_s = 0, spread = 0;
  CostKind cost_kind = CostKind::None;
  std::string log;
  std::string plan_hash;
  std::shared_ptr<const Plan> plan;  // when lowering succeeded
  PathFeatures features;             // of the plan's critical path (predicted and measured costs)
  KindTimes kinds;                   // per instruction kind, of the cost's kind (kind_times.h); may be empty
};

// Never throws for a bad candidate: every failure becomes a status with its log.
Evaluation evaluate_candidate(const Proposal& p, const KnobSpace& space, const EvalSettings& s, uint64_t check_seed);

// The ladder's last rung: measured, then "interleaved against the current best, keep only
// if faster beyond the measured noise". A measured candidate whose solo time beats the
// best's is timed again interleaved with the best's plan (Measurer::compare); its cost
// becomes the best's time x the median per-pair ratio and its spread the ratio's
// (p90 - p10) / median, so the keep rule (faster_beyond_noise) and every ranking see the
// drift-free comparison. Solo times minutes apart drift by about as much as the gains the
// search looks for (docs/PERF.md: up to 0.5% between standalone benches of one binary).
// Used by the tuning loop (against its kept best) and `tessera agent`'s evaluate (against
// the run's leader). best_plan is asked for only when needed; null: not available, and the
// log says so. Does nothing to a candidate that is not measured and ok, or without a
// measured best.
// A candidate's cost from its interleaved ratio to the best: the best's time x the median
// ratio, spread the ratio's (p90 - p10) / median (the tuner's rung here, and tune --variant's).
double paired_cost(double best_cost_s, const PairedRatio& r);
double paired_spread(const PairedRatio& r);

struct BestSoFar {
  int64_t id = -1;  // -1: none yet
  double cost_s = 0, spread = 0;
  CostKind cost_kind = CostKind::None;
};
void interleave_with_best(Evaluation& ev, Measurer* measurer, const BestSoFar& best,
                          const std::function<std::shared_ptr<const Plan>()>& best_plan);

// A measured evaluation as a row of the store's calibration table (the step time with the
// path features the cost model fits on), so the next run's cost model is refitted to this
// GPU; nothing for a predicted or failed one. Returns whether a row was written.
bool record_calibration(TuneStore& store, const EvalSettings& s, const Evaluation& ev);

}  // namespace tessera

// Per-instruction-kind time: the Pareto policy's time axis (pareto_search.h). Tuning a kind
// on its own (hierarchical autotuning) needs the time of that instruction, not of the whole
// step: a kind off the critical path would otherwise show no difference between its
// variations, and a kind on it would carry every other kind's noise.
//
// A kind's time is the wall time, within one step, during which at least one block runs a
// task whose time its knobs move (InstructionKind::covers): the length of the union of
// those tasks' [start, end] spans. The union, not the sum, because a kind's tiles run side
// by side on many blocks; and "covers", not the kind's own tasks, because some knobs move
// work between kinds (fuse_norm moves the norm into the q/k/v, gate/up and LM head
// prologues; fold_attention moves attention into the o tiles), so the norm kind's time
// includes its consumers' and the attention kind's the o tiles'. The schedule kind, whose
// knobs shape everything, covers the whole step.
//
// The spans come from a timeline: the cost model's walk for a predicted cost
// (predicted_kind_times), the GPU's per-task trace for a measured one (cuda/gpu_measurer).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/plan.h"

namespace tessera {

struct KindTime {
  double s = 0;       // seconds: predicted or measured as the candidate's cost is
  double spread = 0;  // relative (p90 - p10) / median over traced steps; 0 for predicted
};
// Instruction kind name (instruction_kinds.h) -> its time; empty: not known (a measurer
// that cannot trace, a candidate recorded before the axis existed).
using KindTimes = std::map<std::string, KindTime>;

struct TaskSpan {
  int32_t task = 0;
  double start_s = 0, end_s = 0;
};

// Every instruction kind's time from the spans of one step. Throws tessera::Error naming
// the task for a span outside the plan or one that ends before it starts.
std::map<std::string, double> kind_times_of(const Plan& plan, const std::vector<TaskSpan>& spans);

// Medians and spreads over several steps' kind_times_of (each step must name the same
// kinds). Throws tessera::Error for no steps.
KindTimes summarize_kind_times(const std::vector<std::map<std::string, double>>& steps);

// "kind times: qkv 12.1 us, o 8.0 us, ..." for a candidate's log; "" for none.
std::string kind_times_text(const KindTimes& k);

// {"qkv": {"s": 1.2e-5, "spread": 0.01}, ...}; from_json throws tessera::Error naming the
// field for a malformed document, and gives an empty map for null.
nlohmann::json kind_times_to_json(const KindTimes& k);
KindTimes kind_times_from_json(const nlohmann::json& j);

}  // namespace tessera

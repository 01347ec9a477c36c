// Structural rewrites: plan in, plan out. Each is a pure function of the plan and a few
// parameters (a seed for every choice it makes and the step position its byte counts are
// for), so the same rewrite can be replayed: on the tuned plan to propose a candidate, and
// on the small check shape's plan of the same knobs to prove the rewrite numerically right
// in the emulator (evaluate.cpp), the way knob candidates are checked.
//
// Every rewrite keeps the plan valid by construction (rewrite_schedule.h); apply_rewrite
// still runs the static validator and turns a rejected result into "nothing proposed", so
// the search is never handed an invalid plan. One file per rewrite (rewrite_<name>.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/plan.h"

namespace tessera {

struct RewriteParams {
  uint64_t seed = 1;
  int64_t pos = 1;  // the step position task bytes are counted at (attention grows with it)
  nlohmann::json to_json() const { return {{"seed", seed}, {"pos", pos}}; }
};

// What a rewrite did, for the candidate's op_params and reports. `changed` false means the
// rewrite found nothing to do on this plan (the result is the input).
struct RewriteOutcome {
  Plan plan;
  bool changed = false;
  nlohmann::json detail = nlohmann::json::object();
};

// (a) Moves (or swaps) tasks off the queue streaming the most bytes onto queues that are
// light in the same dependency level, until that queue's bytes fall, then a seeded 0-3
// further moves. Unchanged when no move lowers the maximum.
RewriteOutcome rewrite_rebalance(const Plan& plan, const RewriteParams& rp);

// (b) Orders queues so that, among the tasks dependencies allow to run next, the one with
// the longest remaining path to the end of the step goes first. The seed picks every queue
// or one queue on the predicted critical path.
RewriteOutcome rewrite_reorder(const Plan& plan, const RewriteParams& rp);
// The reordering itself: `queues` (empty: all) re-sorted; longest_first false gives the
// opposite priority (shortest remaining path first), which tests use to build a weak plan.
Plan reorder_queues(const Plan& plan, const std::vector<int32_t>& queues, bool longest_first, int64_t pos);

// (c) Splits one matvec tile (o, gate/up, down, q/k/v at head boundaries) into two row
// ranges, or merges two adjacent tiles of the same instruction with the same waits and
// signals; counters' thresholds follow the changed producer count.
RewriteOutcome rewrite_retile(const Plan& plan, const RewriteParams& rp);

// (d) Changes one layer's split-KV factor (per layer: each layer has its own attention
// tasks, partial buffers and counters), re-emitting that layer's attention tasks and
// combines and placing them on the least-loaded queues.
RewriteOutcome rewrite_split_kv(const Plan& plan, const RewriteParams& rp);
// The same with the layer (index among the plan's k caches) and factor given.
std::optional<Plan> set_layer_kv_splits(const Plan& plan, int layer, int splits, int64_t pos);
// Each layer's split-KV factor, in k-cache order.
std::vector<int> layer_kv_splits(const Plan& plan);

// "rebalance", "reorder", "retile", "split_kv".
std::vector<std::string> rewrite_names();
// Applies the named rewrite and validates the result. nullopt when the rewrite changed
// nothing or the validator rejected the result (*why says which and, for a rejection, the
// first diagnostic). Throws tessera::Error for an unknown name.
std::optional<RewriteOutcome> apply_rewrite(const std::string& name, const Plan& plan, const RewriteParams& rp,
                                            std::string* why = nullptr);

}  // namespace tessera

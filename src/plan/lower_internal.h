// State shared by the lowering passes (lower.cpp drives them in order): the plan under
// construction, buffer lookup by name, the stage each task belongs to, and counters whose
// wait thresholds are derived from the signals actually emitted. Private to src/plan/lower*.
//
// Passes, in order: buffers (lower.cpp) -> tasks and counters, stage by stage
// (lower_layer.cpp; every producer is emitted before its consumers, so emission order is a
// topological order) -> footprints (lower.cpp) -> block assignment and queues
// (lower_assign.cpp).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "plan/lower.h"

namespace tessera::lowering {

// Tile sizes after the "0 = choose from the SM count" defaults are resolved.
struct Tiles {
  int qkv_heads = 1;
  int qkv_parts = 1;  // tasks per q/k/v head (LowerConfig::qkv_head_parts)
  // q/k/v cut into about this many equal tasks across heads (qkv_head_parts 0 with
  // qkv_heads_per_task 1; 0 otherwise): RoPE'd heads by rotation pairs, the rest by rows.
  int qkv_tasks = 0;
  int64_t o_rows = 0, gate_up_rows = 0, down_rows = 0, lm_rows = 0, embed_cols = 0, norm_rows = 0;
};
Tiles resolve_tiles(const ModelConfig& c, const LowerConfig& k, int blocks);
// kv_splits when the knob is 0.
int default_kv_splits(const ModelConfig& c, int blocks, int context);

// [begin, end) ranges of at most `size` covering [0, n).
std::vector<std::pair<int64_t, int64_t>> split_range(int64_t n, int64_t size);

class Builder {
 public:
  Builder(const ModelConfig& config, const LowerConfig& knobs, Plan& plan)
      : config(config), knobs(knobs), plan(plan) {}

  const ModelConfig& config;
  const LowerConfig& knobs;
  Plan& plan;
  std::vector<int> stage_of;  // per task: the stage (one fused instruction of one layer)

  int32_t add_buffer(const std::string& name, BufferKind kind, BufDType dtype,
                     std::vector<int64_t> shape, const std::string& weight = "");
  // The Weight buffer of a canonical weight, created on first use.
  int32_t weight(const std::string& canonical, std::vector<int64_t> shape);
  int32_t buffer(const std::string& name) const;  // must exist

  void begin_stage() { ++stage_; }
  Task& add_task(Op op, const TaskParams& p);

  int32_t add_counter(const std::string& name);
  void signal(Task& t, int32_t counter, int64_t inc = 1);
  // Waits until every signal emitted so far on `counter` has arrived: thresholds always
  // equal the full per-step total, so no wait is ever a partial threshold.
  void wait_all(Task& t, int32_t counter);

 private:
  std::map<std::string, int32_t> by_name_;
  std::vector<int64_t> emitted_;  // per counter: sum of increments so far
  int stage_ = -1;
};

// Emits every task of the step (embed, layers, LM head, argmax) with params, waits and
// signals; reads/writes are left to the footprint pass.
void emit_tasks(Builder& b, const Tiles& tiles);

// Fills Task::sm and Plan::queues over `blocks` blocks by the queue_order knob.
void assign_blocks(Plan& plan, const std::vector<int>& stage_of, const std::string& order, int blocks);

}  // namespace tessera::lowering

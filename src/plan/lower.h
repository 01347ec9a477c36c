// Lowering: op graph (the model's decode step) -> plan, under knobs. The default knobs give
// a good plan; the search explores the rest. The result passes the validator for every
// knob setting (tests check this for every built-in shape).
//
// Buffer conventions every backend relies on:
//  - one Weight buffer per model weight the step reads, `weight` = canonical name
//    (model.h), shape as in the model, dtype bf16 (GPU) or f32 (knob weight_dtype);
//  - Constant "rope_inv_freq" [head_dim/2] f32 (`weight` = "rope_inv_freq"), values from
//    constant_values();
//  - Input "token" i32[1]; Output "logits" f32[vocab] and "next_token" i32[1];
//  - State "k_cache.L" / "v_cache.L" [context, kv_heads*head_dim] (dtype knob kv_dtype).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph/op_graph.h"
#include "model/model.h"
#include "plan/plan.h"

namespace tessera {

struct LowerConfig {
  // Tile sizes: output rows (or heads) per task of each fused instruction.
  int qkv_heads_per_task = 1;     // query heads per q task; kv heads per k/v task
  // Tasks per head of q/k/v (with qkv_heads_per_task 1): RoPE'd q/k heads split into
  // ranges of rotation pairs (TaskParams::rope_pairs), v heads into row ranges; heads with
  // qk-norm stay whole (the norm needs every row). 0: choose from the SM count.
  int qkv_head_parts = 0;
  int o_rows_per_task = 0;        // 0: choose from the SM count
  int gate_up_rows_per_task = 0;  // 0: choose
  int down_rows_per_task = 0;     // 0: choose
  int lm_rows_per_task = 0;       // 0: choose
  int embed_cols_per_task = 0;    // 0: one task
  int sms = 0;                    // blocks used; 0: every SM of the target
  int kv_splits = 0;              // split-KV factor for attention (1: no combine step; 0: choose)
  bool fuse_norm = true;          // RMSNorm as a prologue of each matvec (else rmsnorm tasks)
  // Attention folded into the o projection (Op::AttnMatvec, plan/attn_fold.h): each o-proj
  // tile computes every head's attention from q and the cached rows itself, one dependent
  // stage per layer fewer. Only where the plan's context is at most kAttnFoldMaxContext and
  // the working set fits every target's shared memory; otherwise attention keeps its tasks.
  // "on": wherever it fits; "off": never; "auto": where it fits and the o projection's
  // weights are at most kAttnFoldAutoMaxOBytes. The unfolded plan streams the o weights
  // into L2 while attention runs; folded, they stream inside the o-proj tiles. Measured on
  // an H100 at positions 1 and 15 (docs/PERF.md, twelfth session): SmolLM2-135M (0.7 MB of
  // o weights per layer) 3.6% and 6.8% faster, Qwen2.5-0.5B (1.6 MB) 2.4% and 6.7%; the
  // 1B (8.4 MB) 0.6% and 4.4% slower, the 8B (33.5 MB) 2.3% and 5.5% slower.
  std::string fold_attention = "auto";
  // L2 prefetch hints (TaskParams::l2_prefetch), each issued before the task's waits: o-proj
  // tiles ask for their whole weight tile while only the attention SMs use the memory
  // system; gate/up, q/k/v and down tiles for up to this many KiB of their tile (of each
  // matrix for gate/up) while they wait for o-proj, the previous layer's down projection
  // and gate/up. Measured on an H100 at position 1 (docs/PERF.md, seventh and ninth
  // sessions): the o hint 0.2%; q/k/v and down at 64 KiB 3.1% on the 1B and 1.7% on the
  // 8B; then q/k/v and gate/up at 32 KiB instead of 64 another 0.9% on the 1B (8B 0.2%).
  bool o_prefetch = true;
  int gate_up_prefetch_kib = 32;
  int qkv_prefetch_kib = 32;
  int down_prefetch_kib = 64;
  std::string counter_granularity = "group";  // "group": per tile group/head; "op": one join per op
  std::string queue_order = "bytes";          // "bytes": balance weight bytes; "round_robin"
  std::string weight_dtype = "bf16";          // "bf16" or "f32"
  std::string kv_dtype = "bf16";              // "bf16" or "f32"
  int norm_rows_per_task = 0;     // rmsnorm tasks when fuse_norm is off; 0: choose
  // The fused matvec's weight load path, an instruction variant: 0 streams weights with
  // 16-byte loads straight into registers; N > 0 through a ring of N x 16 KiB of shared
  // memory per block filled by Hopper bulk copies ahead of the waits (sm_90 and later;
  // cuda/instructions/weight_stream.cuh). The plan asks for the ring in
  // Resources::smem_bytes and the CUDA runtime allocates what it asks. 0 by default: on an
  // H100 the ring measured slower than plain loads (docs/PERF.md, fourth session).
  int pipeline_stages = 0;
  // Instruction variants of the matvec: threads per block (a multiple of 32; 256 = 8 warps
  // stream a tile) and weight rows a warp streams together (1 or 2). Measured on an H100:
  // two rows 2-21% faster than one (docs/PERF.md, 2026-11-21); four (a build with 128 load
  // registers per lane) 4% slower (thirteenth session), so it is not offered.
  int threads = 256;
  int rows_per_warp = 2;

  nlohmann::json to_json() const;
  // Applies "key=value" settings (tessera compile --knob); throws UsageError naming the
  // key and the legal values.
  void set(const std::string& key_eq_value);
};

// Target presets by architecture name: sm_80 (A100), sm_86, sm_89, sm_90a (H100 SXM),
// sm_100a (B200), sm_120. Throws tessera::Error listing them for an unknown name.
Target target_preset(const std::string& arch);

// context: positions the KV caches hold (defaults to min(model context, 4096) when 0).
Plan lower(const ModelConfig& config, const Target& target, const LowerConfig& knobs,
           int context = 0, const std::string& label = "");

// Bytes task `t` moves at position `pos`: every region it reads and writes, or with
// weights_only just its reads of Weight buffers (what a matvec streams from memory). An
// embed task counts the one table row it gathers, not the column slice it declares.
// Meant for the plans lower() makes (their boxes are small); not overflow-checked.
int64_t task_bytes(const Plan& plan, const Task& t, int64_t pos, bool weights_only);

// Values of a Constant buffer of a plan lowered from `config`.
std::vector<float> constant_values(const Plan& plan, int32_t buf, const ModelConfig& config);

}  // namespace tessera

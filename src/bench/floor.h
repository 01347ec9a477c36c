// The speed-of-light floor of one decode step: the least time any implementation could
// take on a GPU whose copy bandwidth and matrix-multiply rate were measured in the same run.
// It counts only what the step cannot avoid (every weight read once, the KV cache rows
// attention reads, the row it writes, the multiply-adds of the products and of attention)
// and leaves out activations, logits and launch overheads, so it stays a lower bound: a
// measured step faster than it is a measurement error (stats.h's floor guard), not a win.
#pragma once

#include <cstdint>

#include "model/model.h"

namespace tessera {

struct StepWork {
  int64_t weight_bytes = 0;    // every weight tensor the step reads, once
  int64_t kv_read_bytes = 0;   // K and V rows 0..pos of every layer
  int64_t kv_write_bytes = 0;  // the K and V rows written at pos
  double matmul_flops = 0;     // 2 per multiply-add of the weight matrices
  double attention_flops = 0;  // 4 * layers * heads * head_dim * (pos + 1): q.k and p.v

  int64_t bytes() const { return weight_bytes + kv_read_bytes + kv_write_bytes; }
  double flops() const { return matmul_flops + attention_flops; }
};

// weight_dtype_bytes / kv_dtype_bytes: 2 for bf16 (the GPU backends), 4 for f32.
// The embedding is one row; a tied LM head is the embedding matrix, counted once as the
// LM head (the row gathered from it is inside those bytes). Throws tessera::Error for a
// negative position or an invalid config.
StepWork step_work(const ModelConfig& config, int64_t pos, int weight_dtype_bytes = 2,
                   int kv_dtype_bytes = 2);

// Weight parameters the step reads (what step_work's weight_bytes counts, in elements).
int64_t step_weight_params(const ModelConfig& config);

struct Floor {
  double seconds = 0;
  double memory_seconds = 0;   // bytes / copy bandwidth
  double compute_seconds = 0;  // flops / matmul rate
  const char* bound() const { return memory_seconds >= compute_seconds ? "memory" : "compute"; }
};

// Whether L2 could serve part of a step's working set from one repetition to the next, so
// the timing loop must flush it between repetitions: anything under 4x its size (a
// replacement policy can keep a useful fraction of a set somewhat larger than the cache).
inline bool l2_could_hold(int64_t working_set_bytes, int64_t l2_bytes) {
  return working_set_bytes < 4 * l2_bytes;
}

// copy_bytes_per_second counts bytes read + written, as a step's bytes are; both ceilings
// must be positive (tessera::Error otherwise).
Floor floor_of(const StepWork& work, double copy_bytes_per_second, double matmul_flops_per_second);

}  // namespace tessera

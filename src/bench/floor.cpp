// Counting follows model.h's weight list tensor by tensor, so a new architecture feature
// (biases, q/k norms) that adds tensors to the model must add them here too; the tests pin
// the totals of published shapes.
#include "bench/floor.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace tessera {

namespace {

struct Counts {
  int64_t vector_params = 0;  // norms, biases: read, no multiply-adds of their own
  int64_t matrix_params = 0;  // projections and the LM head: one multiply-add per element
};

Counts count(const ModelConfig& c) {
  const int64_t h = c.hidden_size, q = int64_t(c.num_heads) * c.head_dim,
                kv = int64_t(c.num_kv_heads) * c.head_dim, ff = c.intermediate_size,
                v = c.vocab_size;
  Counts per_layer;
  per_layer.vector_params = 2 * h;  // input and post-attention norms
  if (c.attention_bias) per_layer.vector_params += q + 2 * kv;
  if (c.qk_norm) per_layer.vector_params += 2 * int64_t(c.head_dim);
  per_layer.matrix_params = q * h + 2 * kv * h + h * q + 3 * ff * h;
  Counts total;
  total.vector_params = per_layer.vector_params * c.num_layers + h;  // + final norm
  total.matrix_params = per_layer.matrix_params * c.num_layers + v * h;  // + LM head
  if (!c.tie_word_embeddings) total.vector_params += h;  // the one embedding row gathered
  return total;
}

}  // namespace

int64_t step_weight_params(const ModelConfig& config) {
  config.validate("step_weight_params");
  const Counts n = count(config);
  return n.vector_params + n.matrix_params;
}

StepWork step_work(const ModelConfig& config, int64_t pos, int weight_dtype_bytes, int kv_dtype_bytes) {
  config.validate("step_work");
  if (pos < 0) fail("step_work: position {} is negative", pos);
  if (weight_dtype_bytes <= 0 || kv_dtype_bytes <= 0)
    fail("step_work: element sizes must be positive (weights {}, kv {})", weight_dtype_bytes, kv_dtype_bytes);
  const Counts n = count(config);
  const int64_t kv_row = int64_t(config.num_kv_heads) * config.head_dim * kv_dtype_bytes;
  const int64_t both_caches_all_layers = 2 * int64_t(config.num_layers) * kv_row;
  StepWork w;
  w.weight_bytes = (n.vector_params + n.matrix_params) * weight_dtype_bytes;
  w.kv_read_bytes = both_caches_all_layers * (pos + 1);
  w.kv_write_bytes = both_caches_all_layers;
  w.matmul_flops = 2.0 * double(n.matrix_params);
  w.attention_flops = 4.0 * config.num_layers * config.num_heads * config.head_dim * double(pos + 1);
  return w;
}

Floor floor_of(const StepWork& work, double copy_bytes_per_second, double matmul_flops_per_second) {
  if (!(copy_bytes_per_second > 0) || !std::isfinite(copy_bytes_per_second))
    fail("floor: copy bandwidth {} B/s must be a positive number", copy_bytes_per_second);
  if (!(matmul_flops_per_second > 0) || !std::isfinite(matmul_flops_per_second))
    fail("floor: matmul rate {} FLOP/s must be a positive number", matmul_flops_per_second);
  Floor f;
  f.memory_seconds = double(work.bytes()) / copy_bytes_per_second;
  f.compute_seconds = work.flops() / matmul_flops_per_second;
  f.seconds = std::max(f.memory_seconds, f.compute_seconds);
  return f;
}

}  // namespace tessera

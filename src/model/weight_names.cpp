// Mirrors the list Model::validate checks, but as data, so importers and exporters walk
// the same names in the same order instead of each spelling them out.
#include "model/weight_names.h"

namespace tessera {

std::vector<WeightSpec> canonical_weights(const ModelConfig& c) {
  const int64_t h = c.hidden_size, q = int64_t(c.num_heads) * c.head_dim,
                kv = int64_t(c.num_kv_heads) * c.head_dim, ff = c.intermediate_size,
                v = c.vocab_size;
  std::vector<WeightSpec> w;
  w.push_back({"model.embed_tokens.weight", {v, h}});
  for (int l = 0; l < c.num_layers; ++l) {
    auto add = [&](const char* suffix, std::vector<int64_t> shape) {
      w.push_back({layer_weight(l, suffix), std::move(shape)});
    };
    add("input_layernorm.weight", {h});
    add("self_attn.q_proj.weight", {q, h});
    add("self_attn.k_proj.weight", {kv, h});
    add("self_attn.v_proj.weight", {kv, h});
    if (c.attention_bias) {
      add("self_attn.q_proj.bias", {q});
      add("self_attn.k_proj.bias", {kv});
      add("self_attn.v_proj.bias", {kv});
    }
    if (c.qk_norm) {
      add("self_attn.q_norm.weight", {c.head_dim});
      add("self_attn.k_norm.weight", {c.head_dim});
    }
    add("self_attn.o_proj.weight", {h, q});
    add("post_attention_layernorm.weight", {h});
    add("mlp.gate_proj.weight", {ff, h});
    add("mlp.up_proj.weight", {ff, h});
    add("mlp.down_proj.weight", {h, ff});
  }
  w.push_back({"model.norm.weight", {h}});
  if (!c.tie_word_embeddings) w.push_back({"lm_head.weight", {v, h}});
  return w;
}

}  // namespace tessera

#include "model/model.h"

#include "core/error.h"

namespace tessera {

std::string arch_name(Arch a) {
  switch (a) {
    case Arch::Llama: return "llama";
    case Arch::Mistral: return "mistral";
    case Arch::Qwen2: return "qwen2";
    case Arch::Qwen3: return "qwen3";
  }
  return "?";
}

Arch parse_arch(const std::string& name, const std::string& where) {
  if (name == "llama") return Arch::Llama;
  if (name == "mistral") return Arch::Mistral;
  if (name == "qwen2") return Arch::Qwen2;
  if (name == "qwen3") return Arch::Qwen3;
  fail("{}: unsupported architecture '{}' (supported: llama, mistral, qwen2, qwen3)", where,
       name);
}

void ModelConfig::validate(const std::string& where) const {
  auto positive = [&](const char* what, int v) {
    if (v <= 0) fail("{}: {} must be positive, got {}", where, what, v);
  };
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("intermediate_size", intermediate_size);
  positive("num_hidden_layers", num_layers);
  positive("num_attention_heads", num_heads);
  positive("num_key_value_heads", num_kv_heads);
  positive("head_dim", head_dim);
  positive("max_position_embeddings", max_position_embeddings);
  if (num_heads % num_kv_heads != 0)
    fail("{}: num_attention_heads ({}) is not a multiple of num_key_value_heads ({})", where,
         num_heads, num_kv_heads);
  if (head_dim % 2 != 0) fail("{}: head_dim ({}) must be even for rotary embeddings", where, head_dim);
  if (!(rms_norm_eps > 0.f)) fail("{}: rms_norm_eps must be positive, got {}", where, rms_norm_eps);
  if (!(rope_theta > 0.f)) fail("{}: rope_theta must be positive, got {}", where, rope_theta);
  if (rope_scaling.type != RopeScaling::Type::None && !(rope_scaling.factor > 0.f))
    fail("{}: rope_scaling.factor must be positive, got {}", where, rope_scaling.factor);
  if (rope_scaling.type == RopeScaling::Type::Llama3 &&
      !(rope_scaling.high_freq_factor > rope_scaling.low_freq_factor))
    fail("{}: rope_scaling high_freq_factor ({}) must exceed low_freq_factor ({})", where,
         rope_scaling.high_freq_factor, rope_scaling.low_freq_factor);
  if (bos_token_id >= vocab_size)
    fail("{}: bos_token_id {} outside vocabulary of {}", where, bos_token_id, vocab_size);
  for (int e : eos_token_ids)
    if (e < 0 || e >= vocab_size)
      fail("{}: eos_token_id {} outside vocabulary of {}", where, e, vocab_size);
}

std::string layer_weight(int layer, const char* suffix) {
  return fmt::format("model.layers.{}.{}", layer, suffix);
}

const Tensor& Model::weight(const std::string& name) const {
  auto it = weights.find(name);
  if (it == weights.end()) fail("{}: missing weight '{}'", source, name);
  return it->second;
}

const Tensor& Model::lm_head() const {
  if (has("lm_head.weight")) return weight("lm_head.weight");
  return weight("model.embed_tokens.weight");
}

void Model::validate() const {
  const ModelConfig& c = config;
  c.validate(source);
  const int64_t h = c.hidden_size, q = int64_t(c.num_heads) * c.head_dim,
                kv = int64_t(c.num_kv_heads) * c.head_dim, ff = c.intermediate_size,
                v = c.vocab_size;
  auto expect = [&](const std::string& name, std::vector<int64_t> shape) {
    const Tensor& t = weight(name);
    if (t.shape != shape) {
      Tensor want;
      want.shape = shape;
      fail("{}: weight '{}' has shape {}, expected {}", source, name, t.shape_str(),
           want.shape_str());
    }
  };
  expect("model.embed_tokens.weight", {v, h});
  expect("model.norm.weight", {h});
  if (!c.tie_word_embeddings) expect("lm_head.weight", {v, h});
  for (int l = 0; l < c.num_layers; ++l) {
    expect(layer_weight(l, "input_layernorm.weight"), {h});
    expect(layer_weight(l, "self_attn.q_proj.weight"), {q, h});
    expect(layer_weight(l, "self_attn.k_proj.weight"), {kv, h});
    expect(layer_weight(l, "self_attn.v_proj.weight"), {kv, h});
    expect(layer_weight(l, "self_attn.o_proj.weight"), {h, q});
    if (c.attention_bias) {
      expect(layer_weight(l, "self_attn.q_proj.bias"), {q});
      expect(layer_weight(l, "self_attn.k_proj.bias"), {kv});
      expect(layer_weight(l, "self_attn.v_proj.bias"), {kv});
    }
    if (c.qk_norm) {
      expect(layer_weight(l, "self_attn.q_norm.weight"), {c.head_dim});
      expect(layer_weight(l, "self_attn.k_norm.weight"), {c.head_dim});
    }
    expect(layer_weight(l, "post_attention_layernorm.weight"), {h});
    expect(layer_weight(l, "mlp.gate_proj.weight"), {ff, h});
    expect(layer_weight(l, "mlp.up_proj.weight"), {ff, h});
    expect(layer_weight(l, "mlp.down_proj.weight"), {h, ff});
  }
}

int64_t Model::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, t] : weights) n += t.numel();
  return n;
}

}  // namespace tessera

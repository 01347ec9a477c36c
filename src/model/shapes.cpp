#include "model/shapes.h"

#include <cmath>
#include <map>

#include "core/error.h"

namespace tessera {
namespace {

struct ShapeDef {
  const char* name;
  ModelConfig (*make)();
};

ModelConfig base(Arch arch, int vocab, int hidden, int inter, int layers, int heads, int kv,
                 int head_dim, int ctx, float theta, float eps, bool tied) {
  ModelConfig c;
  c.arch = arch;
  c.vocab_size = vocab;
  c.hidden_size = hidden;
  c.intermediate_size = inter;
  c.num_layers = layers;
  c.num_heads = heads;
  c.num_kv_heads = kv;
  c.head_dim = head_dim;
  c.max_position_embeddings = ctx;
  c.rope_theta = theta;
  c.rms_norm_eps = eps;
  c.tie_word_embeddings = tied;
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  return c;
}

// Hyper-parameters as published in each model's config.json.
const ShapeDef kShapes[] = {
    {"tiny", [] { return base(Arch::Llama, 512, 64, 128, 2, 4, 2, 16, 256, 10000.f, 1e-5f, false); }},
    {"stories260k", [] { return base(Arch::Llama, 512, 64, 172, 5, 8, 4, 8, 512, 10000.f, 1e-5f, true); }},
    {"smollm2-135m", [] { return base(Arch::Llama, 49152, 576, 1536, 30, 9, 3, 64, 8192, 100000.f, 1e-5f, true); }},
    {"llama-3.2-1b", [] {
       ModelConfig c = base(Arch::Llama, 128256, 2048, 8192, 16, 32, 8, 64, 131072, 500000.f, 1e-5f, true);
       c.rope_scaling = {RopeScaling::Type::Llama3, 32.f, 1.f, 4.f, 8192};
       c.bos_token_id = 128000;
       c.eos_token_ids = {128001, 128008, 128009};
       return c;
     }},
    {"llama-3-8b", [] {
       ModelConfig c = base(Arch::Llama, 128256, 4096, 14336, 32, 32, 8, 128, 8192, 500000.f, 1e-5f, false);
       c.bos_token_id = 128000;
       c.eos_token_ids = {128001};
       return c;
     }},
    {"qwen2.5-0.5b", [] {
       ModelConfig c = base(Arch::Qwen2, 151936, 896, 4864, 24, 14, 2, 64, 32768, 1000000.f, 1e-6f, true);
       c.attention_bias = true;
       c.bos_token_id = 151643;
       c.eos_token_ids = {151645, 151643};
       return c;
     }},
    {"qwen3-0.6b", [] {
       ModelConfig c = base(Arch::Qwen3, 151936, 1024, 3072, 28, 16, 8, 128, 40960, 1000000.f, 1e-6f, true);
       c.qk_norm = true;
       c.bos_token_id = 151643;
       c.eos_token_ids = {151645, 151643};
       return c;
     }},
    {"mistral-7b", [] { return base(Arch::Mistral, 32000, 4096, 14336, 32, 32, 8, 128, 32768, 1000000.f, 1e-5f, false); }},
};

// splitmix64: a counter-based generator, so element i of a tensor is a pure function of
// (seed, tensor name, i) and needs no state carried between tensors.
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Uniform values in [center - half, center + half] (std = half / sqrt(3)).
TensorEntry uniform(std::string name, std::vector<int64_t> shape, uint64_t seed, float center,
                    float half) {
  TensorEntry e;
  e.name = std::move(name);
  e.shape = std::move(shape);
  uint64_t key = splitmix64(seed ^ fnv1a(e.name));
  int64_t n = e.numel();
  e.fill = [key, n, center, half](float* dst) {
    for (int64_t i = 0; i < n; ++i) {
      uint64_t r = splitmix64(key + uint64_t(i));
      float u = float(r >> 40) * (1.0f / 16777216.0f);  // [0, 1), 24 bits
      dst[i] = center + half * (2.f * u - 1.f);
    }
  };
  return e;
}

}  // namespace

std::vector<std::string> shape_names() {
  std::vector<std::string> names;
  for (const auto& s : kShapes) names.push_back(s.name);
  return names;
}

ModelConfig shape_config(const std::string& name) {
  for (const auto& s : kShapes)
    if (name == s.name) {
      ModelConfig c = s.make();
      c.validate("shape " + name);
      return c;
    }
  std::string known;
  for (const auto& s : kShapes) known += std::string(known.empty() ? "" : ", ") + s.name;
  fail("unknown shape '{}' (known: {})", name, known);
}

std::vector<TensorEntry> random_tensors(const ModelConfig& c, uint64_t seed) {
  const int64_t h = c.hidden_size, q = int64_t(c.num_heads) * c.head_dim,
                kv = int64_t(c.num_kv_heads) * c.head_dim, ff = c.intermediate_size,
                v = c.vocab_size;
  // Uniform half-width sqrt(3)/sqrt(fan_in) gives std 1/sqrt(fan_in): unit-scale outputs.
  auto proj = [&](std::string name, int64_t out, int64_t in) {
    return uniform(std::move(name), {out, in}, seed, 0.f, std::sqrt(3.f / float(in)));
  };
  auto norm = [&](std::string name, int64_t n) {
    return uniform(std::move(name), {n}, seed, 1.f, 0.2f);
  };
  auto bias = [&](std::string name, int64_t n) {
    return uniform(std::move(name), {n}, seed, 0.f, 0.2f);
  };
  std::vector<TensorEntry> t;
  t.push_back(uniform("model.embed_tokens.weight", {v, h}, seed, 0.f, std::sqrt(3.f)));
  for (int l = 0; l < c.num_layers; ++l) {
    t.push_back(norm(layer_weight(l, "input_layernorm.weight"), h));
    t.push_back(proj(layer_weight(l, "self_attn.q_proj.weight"), q, h));
    t.push_back(proj(layer_weight(l, "self_attn.k_proj.weight"), kv, h));
    t.push_back(proj(layer_weight(l, "self_attn.v_proj.weight"), kv, h));
    if (c.attention_bias) {
      t.push_back(bias(layer_weight(l, "self_attn.q_proj.bias"), q));
      t.push_back(bias(layer_weight(l, "self_attn.k_proj.bias"), kv));
      t.push_back(bias(layer_weight(l, "self_attn.v_proj.bias"), kv));
    }
    if (c.qk_norm) {
      t.push_back(norm(layer_weight(l, "self_attn.q_norm.weight"), c.head_dim));
      t.push_back(norm(layer_weight(l, "self_attn.k_norm.weight"), c.head_dim));
    }
    t.push_back(proj(layer_weight(l, "self_attn.o_proj.weight"), h, q));
    t.push_back(norm(layer_weight(l, "post_attention_layernorm.weight"), h));
    t.push_back(proj(layer_weight(l, "mlp.gate_proj.weight"), ff, h));
    t.push_back(proj(layer_weight(l, "mlp.up_proj.weight"), ff, h));
    t.push_back(proj(layer_weight(l, "mlp.down_proj.weight"), h, ff));
  }
  t.push_back(norm("model.norm.weight", h));
  if (!c.tie_word_embeddings) t.push_back(proj("lm_head.weight", v, h));
  return t;
}

}  // namespace tessera

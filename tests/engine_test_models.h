// Tiny in-memory transformer models with seeded random weights for the engine tests, and
// an independent whole-sequence reference forward pass to check the engine against.
//
// The reference is deliberately built differently from CpuEngine: it runs in double,
// processes every position at once with a full causal attention matrix (no KV cache),
// computes rotary frequencies in double from the formulas in transformers' docs, and
// shares no code with src/engine. Agreement therefore says the incremental engine
// computes the same function, not that it repeats its own mistakes.
#pragma once

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "model/model.h"

namespace tessera::test {

// hidden 64, 4 heads, 2 kv heads, head_dim 16, intermediate 96, vocab 128, 2 layers.
inline ModelConfig tiny_config(Arch arch = Arch::Llama) {
  ModelConfig c;
  c.arch = arch;
  c.vocab_size = 128;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 16;
  c.max_position_embeddings = 256;
  c.rms_norm_eps = 1e-5f;
  c.rope_theta = 10000.f;
  c.attention_bias = arch == Arch::Qwen2;
  c.qk_norm = arch == Arch::Qwen3;
  c.eos_token_ids = {2};
  c.bos_token_id = 1;
  return c;
}

// Stores `values` as `dtype`. Values are first rounded to `round_to` (so an F32 tensor can
// hold exactly the numbers a BF16 one does).
inline Tensor make_tensor(std::vector<int64_t> shape, std::vector<float> values, DType dtype) {
  if (dtype == DType::F32) return Tensor::owned_f32(std::move(shape), std::move(values));
  std::vector<uint8_t> bytes(values.size() * 2);
  for (size_t i = 0; i < values.size(); ++i) {
    uint16_t h = dtype == DType::BF16 ? f32_to_bf16(values[i]) : f32_to_f16(values[i]);
    std::memcpy(&bytes[2 * i], &h, 2);
  }
  return Tensor::owned_bytes(dtype, std::move(shape), std::move(bytes));
}

inline float round_to(float v, DType t) {
  if (t == DType::BF16) return bf16_to_f32(f32_to_bf16(v));
  if (t == DType::F16) return f16_to_f32(f32_to_f16(v));
  return v;
}

// A model for config c with weights drawn from a seeded generator. Values are rounded to
// `values_as` and stored as `stored_as`.
inline Model make_model(const ModelConfig& c, uint64_t seed, DType stored_as = DType::F32,
                        DType values_as = DType::F32) {
  Model m;
  m.config = c;
  m.source = "tiny-test-model";
  m.format = "memory";
  std::mt19937_64 rng(seed);
  auto add = [&](const std::string& name, std::vector<int64_t> shape, float center, float spread) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    std::uniform_real_distribution<float> u(-spread, spread);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = round_to(center + u(rng), values_as);
    m.weights[name] = make_tensor(std::move(shape), std::move(v), stored_as);
  };
  const int64_t D = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const int64_t q = int64_t(c.num_heads) * c.head_dim, kv = int64_t(c.num_kv_heads) * c.head_dim;
  // Linear weights spread 2/sqrt(fan_in) so attention is far from uniform.
  auto lin = [&](const std::string& name, int64_t out, int64_t in) {
    add(name, {out, in}, 0.f, 2.f / std::sqrt(float(in)));
  };
  add("model.embed_tokens.weight", {V, D}, 0.f, 1.f);
  for (int l = 0; l < c.num_layers; ++l) {
    add(layer_weight(l, "input_layernorm.weight"), {D}, 1.f, 0.3f);
    lin(layer_weight(l, "self_attn.q_proj.weight"), q, D);
    lin(layer_weight(l, "self_attn.k_proj.weight"), kv, D);
    lin(layer_weight(l, "self_attn.v_proj.weight"), kv, D);
    if (c.attention_bias) {
      add(layer_weight(l, "self_attn.q_proj.bias"), {q}, 0.f, 0.5f);
      add(layer_weight(l, "self_attn.k_proj.bias"), {kv}, 0.f, 0.5f);
      add(layer_weight(l, "self_attn.v_proj.bias"), {kv}, 0.f, 0.5f);
    }
    if (c.qk_norm) {
      add(layer_weight(l, "self_attn.q_norm.weight"), {c.head_dim}, 1.f, 0.5f);
      add(layer_weight(l, "self_attn.k_norm.weight"), {c.head_dim}, 1.f, 0.5f);
    }
    lin(layer_weight(l, "self_attn.o_proj.weight"), D, q);
    add(layer_weight(l, "post_attention_layernorm.weight"), {D}, 1.f, 0.3f);
    lin(layer_weight(l, "mlp.gate_proj.weight"), F, D);
    lin(layer_weight(l, "mlp.up_proj.weight"), F, D);
    lin(layer_weight(l, "mlp.down_proj.weight"), D, F);
  }
  add("model.norm.weight", {D}, 1.f, 0.3f);
  if (!c.tie_word_embeddings) lin("lm_head.weight", V, D);
  m.validate();
  return m;
}

inline std::vector<int> random_tokens(int n, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int> t(n);
  for (auto& x : t) x = int(rng() % uint64_t(vocab));
  return t;
}

// ---- the independent reference ----

using Mat = std::vector<std::vector<double>>;  // [rows][cols]

inline std::vector<double> ref_values(const Model& m, const std::string& name) {
  std::vector<float> f = m.weight(name).to_f32();
  return std::vector<double>(f.begin(), f.end());
}

// Y[n][out] = X[n][in] W^T (+ b)
inline Mat ref_linear(const Mat& X, const Model& m, const std::string& w_name,
                      const std::string& b_name = "") {
  const Tensor& t = m.weight(w_name);
  const int64_t out = t.dim(0), in = t.dim(1);
  std::vector<double> W = ref_values(m, w_name);
  std::vector<double> b = b_name.empty() ? std::vector<double>(out, 0.0) : ref_values(m, b_name);
  Mat Y(X.size(), std::vector<double>(out));
  for (size_t r = 0; r < X.size(); ++r)
    for (int64_t o = 0; o < out; ++o) {
      double s = b[o];
      for (int64_t i = 0; i < in; ++i) s += W[o * in + i] * X[r][i];
      Y[r][o] = s;
    }
  return Y;
}

inline void ref_rmsnorm(double* x, int64_t n, const std::vector<double>& w, double eps) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  double r = 1.0 / std::sqrt(ss / n + eps);
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] * r * w[i];
}

inline Mat ref_rmsnorm_rows(Mat X, const std::vector<double>& w, double eps) {
  for (auto& row : X) ref_rmsnorm(row.data(), int64_t(row.size()), w, eps);
  return X;
}

// Rotary inverse frequencies in double, straight from the published formulas.
inline std::vector<double> ref_inv_freq(const ModelConfig& c) {
  const int d = c.head_dim;
  std::vector<double> inv(d / 2);
  for (int i = 0; i < d / 2; ++i) inv[i] = std::pow(double(c.rope_theta), -2.0 * i / d);
  const RopeScaling& s = c.rope_scaling;
  for (int i = 0; i < d / 2; ++i) {
    if (!c.rope_freq_factors.empty()) inv[i] /= c.rope_freq_factors[i];
    if (s.type == RopeScaling::Type::Linear) inv[i] /= s.factor;
    if (s.type == RopeScaling::Type::Llama3) {
      const double wavelen = 2 * M_PI / inv[i];
      const double orig = s.original_max_position_embeddings;
      if (wavelen < orig / s.high_freq_factor) {
        // high frequency: unchanged
      } else if (wavelen > orig / s.low_freq_factor) {
        inv[i] /= s.factor;
      } else {
        const double smooth =
            (orig / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        inv[i] = (1 - smooth) * inv[i] / s.factor + smooth * inv[i];
      }
    }
  }
  return inv;
}

inline void ref_rope(double* x, int d, int pos, const std::vector<double>& inv) {
  for (int i = 0; i < d / 2; ++i) {
    const double a = x[i], b = x[i + d / 2], ang = pos * inv[i];
    x[i] = a * std::cos(ang) - b * std::sin(ang);
    x[i + d / 2] = b * std::cos(ang) + a * std::sin(ang);
  }
}

// Logits [n][vocab] for every position of the sequence, computed all at once.
inline Mat reference_logits(const Model& m, const std::vector<int>& tokens) {
  const ModelConfig& c = m.config;
  const int n = int(tokens.size()), D = c.hidden_size, H = c.num_heads, G = c.num_kv_heads,
            hd = c.head_dim;
  const double eps = c.rms_norm_eps;
  const std::vector<double> inv = ref_inv_freq(c);
  std::vector<double> E = ref_values(m, "model.embed_tokens.weight");
  Mat X(n, std::vector<double>(D));
  for (int t = 0; t < n; ++t)
    for (int i = 0; i < D; ++i) X[t][i] = E[size_t(tokens[t]) * D + i];

  for (int l = 0; l < c.num_layers; ++l) {
    auto name = [&](const char* s) { return layer_weight(l, s); };
    Mat Hn = ref_rmsnorm_rows(X, ref_values(m, name("input_layernorm.weight")), eps);
    const bool bias = c.attention_bias;
    Mat Q = ref_linear(Hn, m, name("self_attn.q_proj.weight"), bias ? name("self_attn.q_proj.bias") : "");
    Mat K = ref_linear(Hn, m, name("self_attn.k_proj.weight"), bias ? name("self_attn.k_proj.bias") : "");
    Mat Vv = ref_linear(Hn, m, name("self_attn.v_proj.weight"), bias ? name("self_attn.v_proj.bias") : "");
    for (int t = 0; t < n; ++t) {
      for (int h = 0; h < H; ++h) {
        if (c.qk_norm) ref_rmsnorm(&Q[t][h * hd], hd, ref_values(m, name("self_attn.q_norm.weight")), eps);
        ref_rope(&Q[t][h * hd], hd, t, inv);
      }
      for (int g = 0; g < G; ++g) {
        if (c.qk_norm) ref_rmsnorm(&K[t][g * hd], hd, ref_values(m, name("self_attn.k_norm.weight")), eps);
        ref_rope(&K[t][g * hd], hd, t, inv);
      }
    }
    // Full attention matrix per head with a causal mask.
    Mat A(n, std::vector<double>(size_t(H) * hd, 0.0));
    for (int h = 0; h < H; ++h) {
      const int g = h / (H / G);
      for (int i = 0; i < n; ++i) {
        std::vector<double> p(n, 0.0);
        double mx = -INFINITY;
        for (int j = 0; j < n; ++j) {
          if (j > i) continue;  // masked
          double s = 0;
          for (int e = 0; e < hd; ++e) s += Q[i][h * hd + e] * K[j][g * hd + e];
          p[j] = s / std::sqrt(double(hd));
          mx = std::max(mx, p[j]);
        }
        double sum = 0;
        for (int j = 0; j <= i; ++j) sum += (p[j] = std::exp(p[j] - mx));
        for (int j = 0; j <= i; ++j)
          for (int e = 0; e < hd; ++e) A[i][h * hd + e] += p[j] / sum * Vv[j][g * hd + e];
      }
    }
    Mat O = ref_linear(A, m, name("self_attn.o_proj.weight"));
    for (int t = 0; t < n; ++t)
      for (int i = 0; i < D; ++i) X[t][i] += O[t][i];
    Hn = ref_rmsnorm_rows(X, ref_values(m, name("post_attention_layernorm.weight")), eps);
    Mat Gt = ref_linear(Hn, m, name("mlp.gate_proj.weight"));
    Mat U = ref_linear(Hn, m, name("mlp.up_proj.weight"));
    for (int t = 0; t < n; ++t)
      for (size_t i = 0; i < Gt[t].size(); ++i)
        Gt[t][i] = Gt[t][i] / (1 + std::exp(-Gt[t][i])) * U[t][i];
    Mat Dn = ref_linear(Gt, m, name("mlp.down_proj.weight"));
    for (int t = 0; t < n; ++t)
      for (int i = 0; i < D; ++i) X[t][i] += Dn[t][i];
  }
  Mat Hn = ref_rmsnorm_rows(X, ref_values(m, "model.norm.weight"), eps);
  return ref_linear(Hn, m, m.has("lm_head.weight") ? "lm_head.weight" : "model.embed_tokens.weight");
}

// max |a - b| / max |b|
inline double max_rel_error(const std::vector<float>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    num = std::max(num, std::abs(double(a[i]) - b[i]));
    den = std::max(den, std::abs(b[i]));
  }
  return num / den;
}

}  // namespace tessera::test

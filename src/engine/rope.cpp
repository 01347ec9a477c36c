// Written to reproduce transformers' float32 arithmetic step by step (including that
// `scalar / tensor` is evaluated there as reciprocal(tensor) * scalar), because a GPU
// backend is checked against this engine and this engine against HF: positions deep into
// a long context amplify any difference in inv_freq.
#include "engine/rope.h"

#include <cmath>

#include "core/error.h"

namespace tessera {

std::vector<float> rope_inv_freq(const ModelConfig& c, const std::string& where) {
  const int d = c.head_dim, half = d / 2;
  std::vector<float> inv(half);
  // 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
  for (int i = 0; i < half; ++i) {
    const float exponent = float(2 * i) / float(d);
    inv[i] = 1.f / std::pow(c.rope_theta, exponent);
  }

  if (!c.rope_freq_factors.empty()) {
    if (c.rope_scaling.type != RopeScaling::Type::None)
      fail("{}: rope_freq_factors and rope_scaling are both set (the factors already "
           "include the scaling)", where);
    if (int(c.rope_freq_factors.size()) != half)
      fail("{}: rope_freq_factors has {} entries, expected head_dim/2 = {}", where,
           c.rope_freq_factors.size(), half);
    for (int i = 0; i < half; ++i) {
      const float f = c.rope_freq_factors[i];
      if (!(f > 0.f) || !std::isfinite(f))
        fail("{}: rope_freq_factors[{}] is {}, expected a positive finite number", where, i, f);
      inv[i] = inv[i] / f;
    }
    return inv;
  }

  const RopeScaling& s = c.rope_scaling;
  switch (s.type) {
    case RopeScaling::Type::None: break;
    case RopeScaling::Type::Linear:
      for (float& v : inv) v = v / s.factor;
      break;
    case RopeScaling::Type::Llama3: {
      // transformers' _compute_llama3_parameters, operation by operation.
      const float old_ctx = float(s.original_max_position_embeddings);
      const float low_wavelen = float(double(s.original_max_position_embeddings) /
                                      double(s.low_freq_factor));
      const float high_wavelen = float(double(s.original_max_position_embeddings) /
                                       double(s.high_freq_factor));
      const float two_pi = float(2 * M_PI);
      const float span = float(double(s.high_freq_factor) - double(s.low_freq_factor));
      for (float& v : inv) {
        const float wavelen = (1.f / v) * two_pi;
        const float llama = wavelen > low_wavelen ? v / s.factor : v;
        const float smooth = ((1.f / wavelen) * old_ctx - s.low_freq_factor) / span;
        const float smoothed = (1.f - smooth) * llama / s.factor + smooth * llama;
        const bool medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
        v = medium ? smoothed : llama;
      }
      break;
    }
  }
  return inv;
}

void rope_cos_sin(const std::vector<float>& inv_freq, int pos, float* cos, float* sin) {
  const float p = float(pos);
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    const float angle = inv_freq[i] * p;
    cos[i] = float(std::cos(double(angle)));
    sin[i] = float(std::sin(double(angle)));
  }
}

void apply_rope_pairs(float* a, float* b, int n, const float* cos, const float* sin) {
  for (int i = 0; i < n; ++i) {
    const float x = a[i], y = b[i];
    a[i] = x * cos[i] - y * sin[i];
    b[i] = y * cos[i] + x * sin[i];
  }
}

void apply_rope(float* x, int head_dim, const float* cos, const float* sin) {
  apply_rope_pairs(x, x + head_dim / 2, head_dim / 2, cos, sin);
}

}  // namespace tessera

// Sampling in double precision over an explicitly sorted candidate list, with the uniform
// draw built from raw mt19937_64 bits: std::uniform_real_distribution is not specified
// bit for bit across standard libraries, and a seed must give the same text everywhere.
#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace tessera {

int argmax(const std::vector<float>& v) {
  TS_CHECK(!v.empty(), "argmax of an empty vector");
  int best = 0;
  for (int i = 1; i < int(v.size()); ++i)
    if (v[i] > v[best]) best = i;  // strict: the lowest id wins ties
  return best;
}

Sampler::Sampler(SamplerConfig cfg) : cfg_(cfg), rng_(cfg.seed) {
  if (!(cfg.temperature >= 0.f) || !std::isfinite(cfg.temperature))
    fail("--temperature must be a finite number >= 0, got {}", cfg.temperature);
  if (cfg.top_k < 0) fail("--top-k must be >= 0 (0 disables it), got {}", cfg.top_k);
  if (!(cfg.top_p > 0.f && cfg.top_p <= 1.f))
    fail("--top-p must be in (0, 1], got {}", cfg.top_p);
}

// u in [0, 1) from the top 53 bits of one draw.
double Sampler::uniform() { return double(rng_() >> 11) * 0x1.0p-53; }

int Sampler::sample(const std::vector<float>& logits) {
  TS_CHECK(!logits.empty(), "sampling from empty logits");
  for (size_t i = 0; i < logits.size(); ++i)
    if (std::isnan(logits[i])) fail("logit of token {} is NaN", i);
  if (cfg_.temperature == 0.f) return argmax(logits);

  const int n = int(logits.size());
  const int best = argmax(logits);
  if (std::isinf(logits[best]) && logits[best] > 0)
    fail("logit of token {} is +inf; cannot sample", best);

  // probs = softmax(logits / T), max-subtracted.
  const double t = cfg_.temperature, top = logits[best];
  std::vector<double> probs(n);
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    probs[i] = std::exp((double(logits[i]) - top) / t);
    sum += probs[i];
  }
  for (double& p : probs) p /= sum;

  // Without top-k/top-p every token is a candidate: draw in id order, no sort needed.
  if (cfg_.top_k == 0 && cfg_.top_p >= 1.f) {
    const double target = uniform();
    double cum = 0;
    for (int i = 0; i < n; ++i) {
      cum += probs[i];
      if (target < cum) return i;
    }
    return best;  // rounding left the sum a hair below 1
  }

  // Candidates by descending probability, the lower id first among equals.
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  auto by_prob = [&](int a, int b) { return probs[a] > probs[b] || (probs[a] == probs[b] && a < b); };
  int keep = n;
  if (cfg_.top_k > 0 && cfg_.top_k < n) {
    keep = cfg_.top_k;
    std::partial_sort(order.begin(), order.begin() + keep, order.end(), by_prob);
  } else {
    std::sort(order.begin(), order.end(), by_prob);
  }

  // top-p over the top-k survivors, renormalised: the smallest prefix reaching top_p.
  double kept_mass = 0;
  for (int i = 0; i < keep; ++i) kept_mass += probs[order[i]];
  if (cfg_.top_p < 1.f) {
    double cum = 0;
    for (int i = 0; i < keep; ++i) {
      cum += probs[order[i]] / kept_mass;
      if (cum >= double(cfg_.top_p)) {
        keep = i + 1;
        break;
      }
    }
    kept_mass = 0;
    for (int i = 0; i < keep; ++i) kept_mass += probs[order[i]];
  }

  // Pick the first candidate whose cumulative mass exceeds u * kept_mass.
  const double target = uniform() * kept_mass;
  double cum = 0;
  for (int i = 0; i < keep; ++i) {
    cum += probs[order[i]];
    if (target < cum) return order[i];
  }
  return order[keep - 1];
}

}  // namespace tessera

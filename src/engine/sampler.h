// Token choice from logits: greedy (temperature 0), or temperature softmax restricted by
// top-k and top-p (nucleus), drawn from a seeded generator so runs repeat exactly.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace tessera {

struct SamplerConfig {
  float temperature = 0.f;  // 0: greedy (argmax, lowest id wins ties)
  int top_k = 0;            // 0: no limit
  float top_p = 1.f;        // 1: no limit
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplerConfig cfg);  // throws tessera::Error on out-of-range settings
  int sample(const std::vector<float>& logits);

 private:
  double uniform();  // [0, 1), reproducible across standard libraries

  SamplerConfig cfg_;
  std::mt19937_64 rng_;
};

int argmax(const std::vector<float>& v);

}  // namespace tessera

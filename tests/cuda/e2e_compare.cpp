// See e2e_compare.h.
#include "e2e_compare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/dtype.h"
#include "engine/cpu_engine.h"
#include "model/shapes.h"

namespace tessera::test {

Model random_bf16_model(const ModelConfig& config, const std::string& label, uint64_t seed) {
  Model m;
  m.config = config;
  m.source = "random:" + label;
  m.format = "random";
  for (const TensorEntry& e : random_tensors(m.config, seed)) {
    std::vector<float> v(size_t(e.numel()));
    e.fill(v.data());
    for (float& x : v) x = bf16_to_f32(f32_to_bf16(x));
    m.weights[e.name] = Tensor::owned_f32(e.shape, std::move(v));
  }
  return m;
}

Model random_bf16_model(const std::string& shape, uint64_t seed) {
  return random_bf16_model(shape_config(shape), shape, seed);
}

void round_weights_to_bf16(Model& m) {
  for (auto& [name, t] : m.weights) {
    std::vector<float> v = t.to_f32();
    for (float& x : v) x = bf16_to_f32(f32_to_bf16(x));
    t = Tensor::owned_f32(t.shape, std::move(v));
  }
}

int argmax(const std::vector<float>& v) { return int(std::max_element(v.begin(), v.end()) - v.begin()); }

Top2 top2(const std::vector<float>& v) {
  const int b = argmax(v);
  float second = -INFINITY;
  for (size_t i = 0; i < v.size(); ++i)
    if (int(i) != b) second = std::max(second, v[i]);
  return {b, v[size_t(b)] - second};
}

CompareResult compare_with_cpu(const Model& m, DecodeBackend& gpu, const std::function<int()>& gpu_token,
                               double bound, int steps, const std::string& label) {
  SCOPED_TRACE(label);
  CompareResult res;
  CpuEngine cpu(m, gpu.capacity(), 2);
  int token = m.config.bos_token_id >= 0 ? m.config.bos_token_id : 1;
  for (int pos = 0; pos < steps; ++pos) {
    const std::vector<float> ref = cpu.forward(token, pos);
    const std::vector<float>& got = gpu.forward(token, pos);
    double num = 0, den = 0, maxabs = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      if (!std::isfinite(got[i])) {
        ADD_FAILURE() << "step " << pos << ": logit " << i << " is " << got[i];
        return res;
      }
      num += double(got[i] - ref[i]) * double(got[i] - ref[i]);
      den += double(ref[i]) * double(ref[i]);
      maxabs = std::max(maxabs, double(std::fabs(ref[i])));
    }
    const double rel = std::sqrt(num / den);
    res.worst = std::max(res.worst, rel);
    EXPECT_LE(rel, bound) << "step " << pos << ": logits relative error " << rel;
    const int mine = gpu_token();
    EXPECT_EQ(mine, argmax(got)) << "step " << pos << ": the backend's argmax differs from its logits' argmax";
    res.logits.push_back(got);
    res.tokens.push_back(mine);
    const Top2 t = top2(ref);
    if (mine != t.best) {
      std::printf("[ e2e      ] %s step %d: gpu token %d, cpu token %d, cpu top-2 margin %.3g (max |logit| %.3g)\n",
                  label.c_str(), pos, mine, t.best, double(t.margin), maxabs);
      ++res.near_ties;
      EXPECT_LT(t.margin, bound * maxabs) << "step " << pos << ": tokens differ although the cpu margin is "
                                          << t.margin;
    }
    token = t.best;
  }
  std::printf("[ e2e      ] %-50s %d steps, worst logits rel error %.2e (bound %.0e), %d near-tie token differences\n",
              label.c_str(), steps, res.worst, bound, res.near_ties);
  return res;
}

}  // namespace tessera::test

// End-to-end comparison of a GPU backend with the CPU reference engine, shared by the
// megakernel's tests (engine_test.cpp) and the ops baselines' (ops_engine_test.cpp) so both
// are held to one rule:
//   - per step, logits relative error ||gpu - cpu|| / ||cpu|| <= bound;
//   - tokens teacher-forced (both fed the CPU's greedy token); a different argmax is allowed
//     only where the CPU's top-2 margin is below bound * max|logit|; every such case is
//     printed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "model/model.h"

namespace tessera::test {

// A built-in shape's (or a config's) seeded random weights, rounded to bf16 and held as
// f32: both engines then multiply the same numbers.
Model random_bf16_model(const ModelConfig& config, const std::string& label, uint64_t seed);
Model random_bf16_model(const std::string& shape, uint64_t seed);
// Every weight replaced by its bf16 rounding (held as f32): the CPU reference then sees
// exactly what a bf16 backend uploads.
void round_weights_to_bf16(Model& m);

int argmax(const std::vector<float>& v);  // first maximum: the lowest index
struct Top2 {
  int best;
  float margin;
};
Top2 top2(const std::vector<float>& v);

struct CompareResult {
  double worst = 0;   // largest per-step relative error
  int near_ties = 0;  // steps whose token differed within the margin rule
  std::vector<std::vector<float>> logits;  // the GPU's logits per step
  std::vector<int> tokens;                 // the GPU's argmax per step
};

// Runs `steps` teacher-forced steps of `gpu` (fresh: position 0 next) and a CPU engine of
// the same capacity; EXPECTs the rule above. gpu_token: the backend's own argmax of the last
// step, checked against its logits.
CompareResult compare_with_cpu(const Model& m, DecodeBackend& gpu, const std::function<int()>& gpu_token,
                               double bound, int steps, const std::string& label);

}  // namespace tessera::test

// Built-in model shapes (hyper-parameters of real models) and deterministic random
// weights for them, so tests and benchmarks never need downloads. Weights are drawn per
// tensor from a counter-based generator keyed by (seed, tensor name): the same model comes
// out on every machine, and writers can stream tensor by tensor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/export.h"

namespace tessera {

std::vector<std::string> shape_names();
// Throws tessera::Error listing the known shapes when name is unknown.
ModelConfig shape_config(const std::string& name);
// Every tensor the config implies, filled with seeded random values scaled so that
// activations and logits stay O(1) (embeddings ~1, projections ~1/sqrt(fan_in), norms ~1).
std::vector<TensorEntry> random_tensors(const ModelConfig& config, uint64_t seed);

}  // namespace tessera

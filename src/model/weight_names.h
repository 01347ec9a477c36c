// The canonical weight names a ModelConfig implies, in file order (embedding, layers,
// final norm, head). Importers use it to pick the tensors they need out of a file that
// may carry extra buffers; exporters use it to write tensors in a stable order.
#pragma once

#include <string>
#include <vector>

#include "model/model.h"

namespace tessera {

struct WeightSpec {
  std::string name;
  std::vector<int64_t> shape;
};

// lm_head.weight is listed only when the embeddings are not tied.
std::vector<WeightSpec> canonical_weights(const ModelConfig& c);

}  // namespace tessera

// A built-in shape (model/shapes.h) as an in-memory Model with owned f32 weights, so
// `tessera emulate --shape NAME` and the lowering tests need no model file on disk.
#pragma once

#include <cstdint>
#include <string>

#include "model/model.h"

namespace tessera {

// Throws tessera::Error listing the known shapes for an unknown name, or when the weights
// would not fit in this machine's memory.
Model shape_model(const std::string& name, uint64_t seed);

}  // namespace tessera

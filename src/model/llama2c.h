// llama2.c checkpoints (Karpathy's run.c format): the span-based loader the fuzzer drives,
// and the rotary-layout permutation shared by the importer and the exporter.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "model/model.h"

namespace tessera {

// Parses a whole checkpoint image: legacy (version 0) or "ak42" version 1 (fp32).
// Weights view `bytes` (kept alive by `owner`) except the permuted Q/K projections and any
// array that would be misaligned, which are copied. `where` names the file in errors.
Model load_llama2c_bytes(std::span<const uint8_t> bytes, const std::string& where,
                         std::shared_ptr<const void> owner);

void half_to_interleaved_rows(const float* src, float* dst, int64_t heads, int64_t head_dim,
                              int64_t cols);

}  // namespace tessera

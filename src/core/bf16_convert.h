// The one conversion of a stored weight (f32, f16, bf16 or a dequantised format, whatever
// Tensor holds) to the bf16 a GPU backend uploads: to fp32 element by element, then round
// to nearest even (f32_to_bf16). The megakernel's runtime and the ops baseline both call it,
// so the two upload bit-identical weights and their numbers are comparable.
//
// Chunked through a bounded fp32 scratch, so a large weight never exists in fp32 in full.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace tessera {

// dst[i] = bf16 bits of element i of t, for every element (dst holds t.numel() values).
void tensor_to_bf16(const Tensor& t, uint16_t* dst);

}  // namespace tessera

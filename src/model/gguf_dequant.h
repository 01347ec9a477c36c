// Dequantisation of ggml tensor blocks to fp32. Block layouts follow ggml's
// (ggml-common.h); the arithmetic is ordered exactly as gguf-py's numpy reference
// (gguf.quants) computes it, one rounding per operation and no fused multiply-add, so
// the results are bit-identical to it (tests/gguf_dequant_test.cpp checks this).
#pragma once

#include <cstdint>
#include <string>

namespace tessera {

// Whether dequantize() handles this ggml type.
bool ggml_can_dequantize(uint32_t type);

// Converts n elements (a multiple of the type's block size) stored at src (exactly
// n / block_size * type_size bytes, any alignment) to fp32 in dst. An unsupported type
// throws tessera::Error "<what>: ggml type <name> is not supported ...", so pass the
// file and tensor name as `what`.
void dequantize(uint32_t type, const uint8_t* src, int64_t n, float* dst,
                const std::string& what);

}  // namespace tessera

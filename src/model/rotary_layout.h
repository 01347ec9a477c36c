// Q/K row order between the two rotary layouts models are stored in. Hugging Face's
// rotate-half layout (Tessera's canonical one) pairs element i of a head with i + d/2;
// Meta's original layout, kept by llama2.c and by llama.cpp's GGUF llama/mistral files,
// pairs 2i with 2i + 1. Every importer and exporter of an interleaved format goes through
// this one function, so the two directions cannot drift apart.
#pragma once

#include <cstdint>

namespace tessera {

// Permutes the rows of a [rows, row_bytes] matrix, rows = n_heads * head_dim:
// interleaved row h*d + 2i + j <-> rotate-half row h*d + j*d/2 + i. to_hf=true maps
// interleaved to rotate-half; false does the inverse. src and dst must not overlap.
void permute_qk_rows(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t row_bytes,
                     int64_t head_dim, bool to_hf);

}  // namespace tessera

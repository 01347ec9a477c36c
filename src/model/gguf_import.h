// GGUF -> Model, split from load_gguf(path) (declared in model/load.h) so that callers
// holding bytes rather than a file (the fuzz target, tests) can import a parsed GgufFile.
#pragma once

#include "model/gguf_reader.h"
#include "model/model.h"

namespace tessera {

// Builds a validated Model from a parsed GGUF. F32/F16/BF16 tensors that need no row
// permutation are views sharing f.owner(); everything else is copied into owned buffers.
Model model_from_gguf(const GgufFile& f);

// GGUF tensor name <-> canonical name ("blk.3.attn_q.weight" <->
// "model.layers.3.self_attn.q_proj.weight"). Empty string when the name is not one of the
// tensors Tessera maps.
std::string gguf_to_canonical_name(const std::string& gguf_name);
std::string canonical_to_gguf_name(const std::string& canonical);

// Row order conversion for llama/mistral Q and K projections, applied to a [rows, row_len]
// matrix of elem_size-byte elements, rows = n_heads * head_dim. to_hf=true maps GGUF's
// interleaved pairs to Hugging Face's rotate-half halves; false does the inverse.
void permute_qk_rows(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t row_bytes,
                     int64_t head_dim, bool to_hf);

}  // namespace tessera

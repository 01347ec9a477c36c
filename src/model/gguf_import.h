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


}  // namespace tessera

// Rotary position embeddings in the Hugging Face rotate-half layout: element i of a head
// is paired with element i + head_dim/2 and the pair is rotated by pos * inv_freq[i].
// Importers of interleaved formats permute Q/K rows, so this is the only RoPE there is.
#pragma once

#include <string>
#include <vector>

#include "model/model.h"

namespace tessera {

// inv_freq[head_dim/2] with the config's scaling (none, "llama3", "linear", or GGUF
// per-frequency factors), computed in fp32 in the same operation order as transformers
// so the angles agree with it bit for bit or within an ulp. Throws tessera::Error naming
// `where` when rope_freq_factors has the wrong length or non-positive entries, or is
// combined with rope_scaling.
std::vector<float> rope_inv_freq(const ModelConfig& c, const std::string& where);

// cos/sin[head_dim/2] for one position: angle = float(inv_freq[i] * float(pos)), as HF.
void rope_cos_sin(const std::vector<float>& inv_freq, int pos, float* cos, float* sin);

// Rotates x[head_dim] in place: (x[i], x[i+d/2]) -> (x[i] cos - x[i+d/2] sin,
//                                                   x[i+d/2] cos + x[i] sin).
void apply_rope(float* x, int head_dim, const float* cos, const float* sin);

// The same rotation for n pairs held apart: (a[k], b[k]) by cos[k], sin[k]. A task that
// owns only some of a head's pairs (TaskParams::rope_pairs) rotates them with this.
void apply_rope_pairs(float* a, float* b, int n, const float* cos, const float* sin);

}  // namespace tessera

// The one in-memory model description every importer produces and every later stage
// (op graph, plans, engines) consumes: architecture hyper-parameters plus named weights.
//
// Weight names are canonical, in Hugging Face Llama naming, whatever the source format:
//   model.embed_tokens.weight                       [vocab, hidden]
//   model.layers.{i}.input_layernorm.weight         [hidden]
//   model.layers.{i}.self_attn.{q,k,v}_proj.weight  [heads*head_dim | kv_heads*head_dim, hidden]
//   model.layers.{i}.self_attn.{q,k,v}_proj.bias    (qwen2 only)
//   model.layers.{i}.self_attn.{q,k}_norm.weight    [head_dim] (qwen3 only)
//   model.layers.{i}.self_attn.o_proj.weight        [hidden, heads*head_dim]
//   model.layers.{i}.post_attention_layernorm.weight[hidden]
//   model.layers.{i}.mlp.{gate,up}_proj.weight      [intermediate, hidden]
//   model.layers.{i}.mlp.down_proj.weight           [hidden, intermediate]
//   model.norm.weight                               [hidden]
//   lm_head.weight                                  [vocab, hidden] (absent when tied)
// Q/K projections use the Hugging Face rotary layout (rotate_half over the two halves of a
// head). Importers of formats with interleaved pairs (GGUF llama, llama2.c) permute the
// rows on load so every engine needs one RoPE.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tessera {

enum class Arch { Llama, Mistral, Qwen2, Qwen3 };
std::string arch_name(Arch a);
// Accepts HF model_type / GGUF general.architecture names ("llama", "mistral", "qwen2",
// "qwen3"); throws tessera::Error listing the supported ones otherwise.
Arch parse_arch(const std::string& name, const std::string& where);

struct RopeScaling {
  enum class Type { None, Llama3, Linear };
  Type type = Type::None;
  float factor = 1.f;
  float low_freq_factor = 1.f;   // llama3
  float high_freq_factor = 4.f;  // llama3
  int original_max_position_embeddings = 8192;  // llama3
};

struct ModelConfig {
  Arch arch = Arch::Llama;
  int vocab_size = 0;
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int max_position_embeddings = 0;  // context length
  float rms_norm_eps = 1e-5f;
  float rope_theta = 10000.f;
  RopeScaling rope_scaling;
  // Per-frequency divisors of the rotary inverse frequencies [head_dim/2], as GGUF files
  // of Llama 3.1+ store them (rope_freqs.weight) instead of rope_scaling parameters.
  // Empty: none. When set, rope_scaling must be None (the factors already include it).
  std::vector<float> rope_freq_factors;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v biases (qwen2)
  bool qk_norm = false;         // per-head RMSNorm on q and k before RoPE (qwen3)
  int bos_token_id = -1;        // -1: none
  std::vector<int> eos_token_ids;

  // Throws tessera::Error naming `where` if the numbers are inconsistent
  // (zero sizes, heads not dividing, kv heads not dividing heads, ...).
  void validate(const std::string& where) const;
};

// Vocabulary embedded in a model file (GGUF metadata, llama2.c tokenizer.bin). The
// tokenizer layer turns it into a Tokenizer.
struct VocabSpec {
  enum class Kind { Spm, Gpt2Bpe };  // GGUF tokenizer.ggml.model "llama" / "gpt2"
  Kind kind = Kind::Spm;
  std::vector<std::string> tokens;
  std::vector<float> scores;       // spm merge priorities
  std::vector<int32_t> token_types;  // GGUF: 1 normal, 2 unknown, 3 control, 4 user, 5 unused, 6 byte
  std::vector<std::string> merges;   // gpt2: "a b" in rank order
  std::string pre;                   // gpt2 pre-tokenizer name (tokenizer.ggml.pre)
  int bos_id = -1;
  int eos_id = -1;
  int unk_id = -1;
  int pad_id = -1;
  bool add_bos = true;
  bool add_eos = false;
  bool add_space_prefix = true;  // spm
};

struct Model {
  ModelConfig config;
  std::map<std::string, Tensor> weights;  // canonical names, see above
  std::optional<VocabSpec> vocab;         // embedded vocabulary, when the file has one
  std::string chat_template;              // jinja source, when the file has one
  std::string source;                     // path it was loaded from
  std::string format;                     // "hf", "gguf", "llama2c"
  // Tensor name -> its element type in the file ("Q4_1", "F16", ...), where the importer
  // records it (GGUF); quantised tensors are held dequantised in memory.
  std::map<std::string, std::string> file_dtype;

  bool has(const std::string& name) const { return weights.count(name) != 0; }
  // Throws tessera::Error naming the tensor and the model source when absent.
  const Tensor& weight(const std::string& name) const;
  // The output projection: lm_head.weight, or the embedding when tied.
  const Tensor& lm_head() const;
  // Checks every weight the config implies exists with the right shape; throws
  // tessera::Error naming the first missing or misshapen tensor.
  void validate() const;
  int64_t parameter_count() const;
};

std::string layer_weight(int layer, const char* suffix);  // "model.layers.{layer}.{suffix}"

}  // namespace tessera

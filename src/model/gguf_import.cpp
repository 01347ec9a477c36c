// GGUF -> Model. Hyper-parameters come from the "<arch>." keys llama.cpp writes, tensors
// are renamed to the canonical Hugging Face names, and the rotary layout is brought back
// to HF's: llama.cpp's converter interleaves the Q/K rows of llama/mistral models (and
// llama2.c checkpoints already store them interleaved), while qwen2/qwen3 GGUFs keep HF's
// rotate-half layout.
//
// Unknown tensors are an error rather than skipped: a weight we do not map (an output
// bias, a per-layer scale) would silently change the model's output. The exceptions are
// tensors known to carry nothing a Llama-family forward pass needs (attn_rot_embd, old
// converters' precomputed rotary table) and rope_freqs.weight, which becomes
// ModelConfig::rope_freq_factors.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "model/gguf_dequant.h"
#include "model/rotary_layout.h"
#include "model/gguf_import.h"
#include "model/load.h"

namespace tessera {

namespace {

struct NamePair {
  const char* gguf;
  const char* canonical;
};
constexpr NamePair kGlobalNames[] = {
    {"token_embd.weight", "model.embed_tokens.weight"},
    {"output_norm.weight", "model.norm.weight"},
    {"output.weight", "lm_head.weight"},
};
constexpr NamePair kLayerNames[] = {
    {"attn_norm.weight", "input_layernorm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight"},
    {"attn_k.weight", "self_attn.k_proj.weight"},
    {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_output.weight", "self_attn.o_proj.weight"},
    {"attn_q.bias", "self_attn.q_proj.bias"},
    {"attn_k.bias", "self_attn.k_proj.bias"},
    {"attn_v.bias", "self_attn.v_proj.bias"},
    {"attn_q_norm.weight", "self_attn.q_norm.weight"},
    {"attn_k_norm.weight", "self_attn.k_norm.weight"},
    {"ffn_norm.weight", "post_attention_layernorm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
};

// Splits "<prefix><layer>.<rest>" with a plain decimal layer number.
bool split_layer(const std::string& name, std::string_view prefix, int* layer,
                 std::string* rest) {
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  const char* b = name.data() + prefix.size();
  const char* e = name.data() + name.size();
  const char* dot = std::find(b, e, '.');
  if (dot == b || dot == e || (*b == '0' && dot - b > 1)) return false;
  auto [p, ec] = std::from_chars(b, dot, *layer);
  if (ec != std::errc() || p != dot || *layer < 0) return false;
  *rest = std::string(dot + 1, e);
  return true;
}

// Hyper-parameter as a positive-or-zero int; the config's validate() rejects zeros.
int hparam(const GgufFile& f, const std::string& key, std::optional<int64_t> fallback = {}) {
  std::optional<int64_t> v = f.opt_int(key);
  if (!v) {
    if (!fallback) f.get_int(key);  // throws "missing metadata key"
    v = fallback;
  }
  if (*v < 0 || *v > std::numeric_limits<int32_t>::max())
    fail("{}: metadata key '{}' value {} is out of range", f.name(), key, *v);
  return int(*v);
}

int token_id(const GgufFile& f, const std::string& key, size_t n_tokens) {
  std::optional<int64_t> v = f.opt_int(key);
  if (!v || *v == -1 || *v == int64_t(0xFFFFFFFFu)) return -1;  // llama.cpp's "none"
  if (*v < 0 || uint64_t(*v) >= n_tokens)
    fail("{}: {} {} is outside the vocabulary of {} tokens", f.name(), key, *v, n_tokens);
  return int(*v);
}

VocabSpec read_vocab(const GgufFile& f, const std::string& model) {
  VocabSpec v;
  if (model == "llama")
    v.kind = VocabSpec::Kind::Spm;
  else if (model == "gpt2")
    v.kind = VocabSpec::Kind::Gpt2Bpe;
  else
    fail("{}: tokenizer.ggml.model '{}' is not supported (supported: llama, gpt2)", f.name(),
         model);
  for (auto s : f.get_string_array("tokenizer.ggml.tokens")) v.tokens.emplace_back(s);
  const size_t n = v.tokens.size();
  if (n == 0) fail("{}: tokenizer.ggml.tokens is empty", f.name());
  auto same_length = [&](const char* key, size_t got) {
    if (got != n)
      fail("{}: {} has {} entries but tokenizer.ggml.tokens has {}", f.name(), key, got, n);
  };
  if (f.has("tokenizer.ggml.scores")) {
    v.scores = f.get_float_array("tokenizer.ggml.scores");
    same_length("tokenizer.ggml.scores", v.scores.size());
  }
  if (f.has("tokenizer.ggml.token_type")) {
    auto types = f.get_int_array("tokenizer.ggml.token_type");
    same_length("tokenizer.ggml.token_type", types.size());
    for (size_t k = 0; k < n; ++k) {
      if (types[k] < 0 || types[k] > 6)
        fail("{}: tokenizer.ggml.token_type[{}] = {} is not a token type (0..6)", f.name(), k,
             types[k]);
      v.token_types.push_back(int32_t(types[k]));
    }
  }
  if (f.has("tokenizer.ggml.merges"))
    for (auto s : f.get_string_array("tokenizer.ggml.merges")) v.merges.emplace_back(s);
  v.pre = f.opt_string("tokenizer.ggml.pre").value_or("");
  v.bos_id = token_id(f, "tokenizer.ggml.bos_token_id", n);
  v.eos_id = token_id(f, "tokenizer.ggml.eos_token_id", n);
  v.unk_id = token_id(f, "tokenizer.ggml.unknown_token_id", n);
  v.pad_id = token_id(f, "tokenizer.ggml.padding_token_id", n);
  // llama.cpp's defaults when the keys are absent: SPM vocabularies add BOS and a leading
  // space, BPE ones neither. (llama.cpp also switches add_bos on for a few BPE pre-tokenizer
  // names such as llama3; their converters write add_bos_token explicitly anyway.)
  const bool spm = v.kind == VocabSpec::Kind::Spm;
  v.add_bos = f.opt_bool("tokenizer.ggml.add_bos_token").value_or(spm);
  v.add_eos = f.opt_bool("tokenizer.ggml.add_eos_token").value_or(false);
  v.add_space_prefix = f.opt_bool("tokenizer.ggml.add_space_prefix").value_or(spm);
  return v;
}

void read_rope_scaling(const GgufFile& f, const std::string& p, ModelConfig& c) {
  std::optional<std::string> type = f.opt_string(p + "rope.scaling.type");
  std::optional<double> factor = f.opt_float(p + "rope.scaling.factor");
  if (!factor) factor = f.opt_float(p + "rope.scale_linear");  // older converters
  if (!type) type = factor && *factor != 1.0 ? "linear" : "none";
  if (*type == "none") return;
  if (*type != "linear")
    fail("{}: rope scaling type '{}' ({}rope.scaling.type) is not supported (supported: "
         "none, linear; llama3 scaling is read from rope_freqs.weight)",
         f.name(), *type, p);
  if (!factor) f.get_float(p + "rope.scaling.factor");  // throws: missing key
  c.rope_scaling.type = RopeScaling::Type::Linear;
  c.rope_scaling.factor = float(*factor);
}

ModelConfig read_config(const GgufFile& f, Arch arch, const std::string& arch_str) {
  ModelConfig c;
  c.arch = arch;
  const std::string p = arch_str + ".";
  c.num_layers = hparam(f, p + "block_count");
  c.max_position_embeddings = hparam(f, p + "context_length");
  c.hidden_size = hparam(f, p + "embedding_length");
  c.intermediate_size = hparam(f, p + "feed_forward_length");
  c.num_heads = hparam(f, p + "attention.head_count");
  c.num_kv_heads = hparam(f, p + "attention.head_count_kv", c.num_heads);
  if (c.num_heads <= 0) fail("{}: {}attention.head_count must be positive", f.name(), p);
  if (!f.has(p + "attention.key_length") && c.hidden_size % c.num_heads != 0)
    fail("{}: {}embedding_length {} is not a multiple of attention.head_count {} (and no "
         "attention.key_length is given)",
         f.name(), p, c.hidden_size, c.num_heads);
  c.head_dim = hparam(f, p + "attention.key_length", c.hidden_size / c.num_heads);
  // Checked here, not only in validate(), because un-permuting Q/K rows needs it.
  if (c.head_dim <= 0 || c.head_dim % 2 != 0)
    fail("{}: head_dim ({}attention.key_length or embedding_length / head_count) must be "
         "positive and even, got {}",
         f.name(), p, c.head_dim);
  if (auto vl = f.opt_int(p + "attention.value_length"); vl && *vl != c.head_dim)
    fail("{}: {}attention.value_length {} differs from key_length {} (not supported)",
         f.name(), p, *vl, c.head_dim);
  if (auto rd = f.opt_int(p + "rope.dimension_count"); rd && *rd != c.head_dim)
    fail("{}: {}rope.dimension_count {} differs from head_dim {} (partial rotary embeddings "
         "are not supported)",
         f.name(), p, *rd, c.head_dim);
  c.rope_theta = float(f.opt_float(p + "rope.freq_base").value_or(10000.0));
  c.rms_norm_eps = float(f.get_float(p + "attention.layer_norm_rms_epsilon"));
  read_rope_scaling(f, p, c);
  c.attention_bias = arch == Arch::Qwen2;
  c.qk_norm = arch == Arch::Qwen3;
  return c;
}

bool plain_type(uint32_t t) { return t == ggml::F32 || t == ggml::F16 || t == ggml::BF16; }

DType plain_dtype(uint32_t t) {
  return t == ggml::F32 ? DType::F32 : t == ggml::F16 ? DType::F16 : DType::BF16;
}

// The tensor's values as a Tensor of `shape`, rows permuted to the HF rotary layout when
// head_dim > 0.
Tensor convert(const GgufFile& f, const GgufTensorInfo& ti, std::vector<int64_t> shape,
               int head_dim) {
  const std::string what = fmt::format("{}: tensor '{}'", f.name(), ti.name);
  const int64_t rows = ti.numel / ti.ne[0];
  if (plain_type(ti.type)) {
    const DType dt = plain_dtype(ti.type);
    const bool aligned = reinterpret_cast<uintptr_t>(ti.data) % dtype_size(dt) == 0;
    if (head_dim == 0 && aligned) return Tensor::view(dt, std::move(shape), ti.data, f.owner());
    std::vector<uint8_t> bytes(ti.nbytes);
    if (head_dim == 0)
      std::memcpy(bytes.data(), ti.data, ti.nbytes);
    else
      permute_qk_rows(ti.data, bytes.data(), rows, ti.ne[0] * int64_t(dtype_size(dt)),
                      head_dim, true);
    return Tensor::owned_bytes(dt, std::move(shape), std::move(bytes));
  }
  std::vector<float> values(size_t(ti.numel));
  dequantize(ti.type, ti.data, ti.numel, values.data(), what);
  if (head_dim != 0) {
    std::vector<float> permuted(values.size());
    permute_qk_rows(reinterpret_cast<const uint8_t*>(values.data()),
                    reinterpret_cast<uint8_t*>(permuted.data()), rows, ti.ne[0] * 4, head_dim,
                    true);
    values.swap(permuted);
  }
  return Tensor::owned_f32(std::move(shape), std::move(values));
}

}  // namespace

std::string gguf_to_canonical_name(const std::string& name) {
  for (const auto& n : kGlobalNames)
    if (name == n.gguf) return n.canonical;
  int layer;
  std::string rest;
  if (!split_layer(name, "blk.", &layer, &rest)) return "";
  for (const auto& n : kLayerNames)
    if (rest == n.gguf) return layer_weight(layer, n.canonical);
  return "";
}

std::string canonical_to_gguf_name(const std::string& name) {
  for (const auto& n : kGlobalNames)
    if (name == n.canonical) return n.gguf;
  int layer;
  std::string rest;
  if (!split_layer(name, "model.layers.", &layer, &rest)) return "";
  for (const auto& n : kLayerNames)
    if (rest == n.canonical) return fmt::format("blk.{}.{}", layer, n.gguf);
  return "";
}

Model model_from_gguf(const GgufFile& f) {
  Model m;
  m.source = f.name();
  m.format = "gguf";
  const std::string arch_str = f.get_string("general.architecture");
  const Arch arch = parse_arch(arch_str, f.name() + ": general.architecture");
  ModelConfig& c = m.config;
  c = read_config(f, arch, arch_str);

  if (auto model = f.opt_string("tokenizer.ggml.model"); model && *model != "none") {
    m.vocab = read_vocab(f, *model);
    c.bos_token_id = m.vocab->bos_id;
    if (m.vocab->eos_id >= 0) c.eos_token_ids.push_back(m.vocab->eos_id);
    // End-of-turn / end-of-message tokens also stop generation (Llama 3 chat models).
    for (const char* key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
      int id = token_id(f, key, m.vocab->tokens.size());
      if (id >= 0 && std::find(c.eos_token_ids.begin(), c.eos_token_ids.end(), id) ==
                         c.eos_token_ids.end())
        c.eos_token_ids.push_back(id);
    }
  }
  m.chat_template = f.opt_string("tokenizer.chat_template").value_or("");

  const bool interleaved = arch == Arch::Llama || arch == Arch::Mistral;
  for (const GgufTensorInfo& ti : f.tensors()) {
    std::vector<int64_t> shape = ti.shape();
    if (ti.name == "rope_freqs.weight") {
      if (ti.numel != c.head_dim / 2)
        fail("{}: tensor 'rope_freqs.weight' has {} elements, expected head_dim/2 = {}",
             f.name(), ti.numel, c.head_dim / 2);
      c.rope_freq_factors.resize(size_t(ti.numel));
      dequantize(ti.type, ti.data, ti.numel, c.rope_freq_factors.data(),
                 fmt::format("{}: tensor '{}'", f.name(), ti.name));
      continue;
    }
    int layer;
    std::string rest;
    if (split_layer(ti.name, "blk.", &layer, &rest) && rest == "attn_rot_embd") continue;
    std::string canonical = gguf_to_canonical_name(ti.name);
    const bool is_bias = canonical.find("_proj.bias") != std::string::npos;
    const bool is_qk_norm = canonical.find("_norm.weight") != std::string::npos &&
                            canonical.find("self_attn.") != std::string::npos;
    if (canonical.empty() || (is_bias && !c.attention_bias) || (is_qk_norm && !c.qk_norm))
      fail("{}: unexpected tensor '{}' for a {} model", f.name(), ti.name, arch_str);
    if (split_layer(ti.name, "blk.", &layer, &rest) && layer >= c.num_layers)
      fail("{}: tensor '{}' belongs to layer {} but {}.block_count is {}", f.name(), ti.name,
           layer, arch_str, c.num_layers);
    int permute_head_dim = 0;
    if (interleaved && (rest == "attn_q.weight" || rest == "attn_k.weight")) {
      const int64_t heads = rest == "attn_q.weight" ? c.num_heads : c.num_kv_heads;
      if (shape.size() != 2 || shape[0] != heads * c.head_dim)
        fail("{}: tensor '{}' has shape {}, expected {} rows ({} heads of {})", f.name(),
             ti.name, Tensor::view(DType::F32, shape, nullptr, nullptr).shape_str(),
             heads * c.head_dim, heads, c.head_dim);
      permute_head_dim = c.head_dim;
    }
    m.weights.emplace(canonical, convert(f, ti, std::move(shape), permute_head_dim));
    m.file_dtype.emplace(canonical, ggml_type_name(ti.type));
  }
  if (!c.rope_freq_factors.empty() && c.rope_scaling.type != RopeScaling::Type::None)
    fail("{}: both rope_freqs.weight and {}.rope.scaling.type are set", f.name(), arch_str);

  c.tie_word_embeddings = !m.has("lm_head.weight");
  if (auto v = f.opt_int(arch_str + ".vocab_size")) {
    c.vocab_size = hparam(f, arch_str + ".vocab_size");
  } else if (m.vocab) {
    c.vocab_size = int(m.vocab->tokens.size());
  } else if (m.has("model.embed_tokens.weight")) {
    const Tensor& e = m.weights.at("model.embed_tokens.weight");
    if (e.shape.size() == 2 && e.shape[0] <= std::numeric_limits<int32_t>::max())
      c.vocab_size = int(e.shape[0]);
  }
  m.validate();
  return m;
}

Model load_gguf(const std::string& path) { return model_from_gguf(GgufFile::open(path)); }

}  // namespace tessera

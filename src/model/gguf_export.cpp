// Model -> GGUF v3, laid out the way llama.cpp's converter writes it so llama.cpp and
// gguf-py read the result: "<arch>." hyper-parameter keys, ggml tensor names, Q/K rows of
// llama/mistral permuted to interleaved pairs, norm weights and biases always F32.
//
// The header (metadata and tensor infos) is built in memory since it holds only the
// vocabulary; tensor data is then streamed one tensor at a time through
// TensorEntry::fill, so peak memory is one tensor whatever the model size.
//
// Llama 3 rope scaling is written as rope_freqs.weight (per-frequency divisors, as
// llama.cpp's converter computes them) rather than as keys, because llama.cpp has no key
// for it; load_gguf reads it back into ModelConfig::rope_freq_factors.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "model/export.h"
#include "model/gguf_import.h"
#include "model/rotary_layout.h"
#include "model/gguf_reader.h"

namespace tessera {

namespace {

constexpr uint64_t kAlignment = 32;

class Buf {
 public:
  std::string bytes;
  uint64_t n_kv = 0;

  template <typename T>
  void raw(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    bytes.append(b, sizeof(T));
  }
  void str(std::string_view s) {
    raw<uint64_t>(s.size());
    bytes.append(s);
  }
  void key(std::string_view k, GgufType t) {
    ++n_kv;
    str(k);
    raw<uint32_t>(uint32_t(t));
  }
  void kv_u32(std::string_view k, uint32_t v) { key(k, GgufType::Uint32), raw(v); }
  void kv_i32(std::string_view k, int v) { key(k, GgufType::Int32), raw<int32_t>(v); }
  void kv_f32(std::string_view k, float v) { key(k, GgufType::Float32), raw(v); }
  void kv_bool(std::string_view k, bool v) { key(k, GgufType::Bool), raw<uint8_t>(v ? 1 : 0); }
  void kv_str(std::string_view k, std::string_view v) { key(k, GgufType::String), str(v); }
  void kv_strings(std::string_view k, const std::vector<std::string>& v) {
    key(k, GgufType::Array);
    raw<uint32_t>(uint32_t(GgufType::String));
    raw<uint64_t>(v.size());
    for (const auto& s : v) str(s);
  }
  template <typename T>
  void kv_array(std::string_view k, GgufType elem, const std::vector<T>& v) {
    key(k, GgufType::Array);
    raw<uint32_t>(uint32_t(elem));
    raw<uint64_t>(v.size());
    for (T x : v) raw(x);
  }
};

uint64_t pad_to(uint64_t n) { return (kAlignment - n % kAlignment) % kAlignment; }

// llama.cpp convert_hf_to_gguf.py (LlamaModel.generate_extra_tensors): divisors of the
// rotary inverse frequencies implementing Llama 3.1 scaling.
std::vector<float> llama3_freq_factors(const ModelConfig& c) {
  const RopeScaling& s = c.rope_scaling;
  const double old_ctx = s.original_max_position_embeddings;
  const double low_wavelen = old_ctx / s.low_freq_factor;
  const double high_wavelen = old_ctx / s.high_freq_factor;
  std::vector<float> out;
  for (int i = 0; i < c.head_dim; i += 2) {
    const double freq = 1.0 / std::pow(double(c.rope_theta), double(i) / c.head_dim);
    const double wavelen = 2 * M_PI / freq;
    double f;
    if (wavelen < high_wavelen) {
      f = 1;
    } else if (wavelen > low_wavelen) {
      f = s.factor;
    } else {
      const double smooth =
          (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      f = 1 / ((1 - smooth) / s.factor + smooth);
    }
    out.push_back(float(f));
  }
  return out;
}

struct Planned {
  const TensorEntry* entry = nullptr;  // null: rope_freqs
  std::string name;                    // ggml name
  std::vector<int64_t> ne;
  uint32_t type = ggml::F32;
  uint64_t offset = 0;
  uint64_t nbytes = 0;
  int64_t permute_head_dim = 0;
};

void write_metadata(Buf& b, const ExportModel& m, const std::string& arch, DType dtype,
                    const std::string& path) {
  const ModelConfig& c = m.config;
  const std::string p = arch + ".";
  b.kv_str("general.architecture", arch);
  b.kv_str("general.name", "tessera");
  b.kv_u32("general.alignment", uint32_t(kAlignment));
  // llama_ftype: ALL_F32 = 0, MOSTLY_F16 = 1, MOSTLY_BF16 = 32.
  b.kv_u32("general.file_type", dtype == DType::F32 ? 0 : dtype == DType::F16 ? 1 : 32);
  b.kv_u32(p + "block_count", c.num_layers);
  b.kv_u32(p + "context_length", c.max_position_embeddings);
  b.kv_u32(p + "embedding_length", c.hidden_size);
  b.kv_u32(p + "feed_forward_length", c.intermediate_size);
  b.kv_u32(p + "attention.head_count", c.num_heads);
  b.kv_u32(p + "attention.head_count_kv", c.num_kv_heads);
  b.kv_u32(p + "attention.key_length", c.head_dim);
  b.kv_u32(p + "attention.value_length", c.head_dim);
  b.kv_u32(p + "rope.dimension_count", c.head_dim);
  b.kv_f32(p + "rope.freq_base", c.rope_theta);
  b.kv_f32(p + "attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  b.kv_u32(p + "vocab_size", c.vocab_size);
  if (c.rope_scaling.type == RopeScaling::Type::Linear) {
    b.kv_str(p + "rope.scaling.type", "linear");
    b.kv_f32(p + "rope.scaling.factor", c.rope_scaling.factor);
  }

  const VocabSpec& v = m.vocab;
  if (!v.tokens.empty()) {
    const int n = int(v.tokens.size());
    auto check_len = [&](const char* what, size_t got) {
      if (got != 0 && got != v.tokens.size())
        fail("{}: vocabulary has {} tokens but {} {}", path, n, got, what);
    };
    check_len("scores", v.scores.size());
    check_len("token types", v.token_types.size());
    b.kv_str("tokenizer.ggml.model", v.kind == VocabSpec::Kind::Spm ? "llama" : "gpt2");
    if (!v.pre.empty()) b.kv_str("tokenizer.ggml.pre", v.pre);
    b.kv_strings("tokenizer.ggml.tokens", v.tokens);
    if (!v.scores.empty()) b.kv_array("tokenizer.ggml.scores", GgufType::Float32, v.scores);
    if (!v.token_types.empty())
      b.kv_array("tokenizer.ggml.token_type", GgufType::Int32, v.token_types);
    if (!v.merges.empty()) b.kv_strings("tokenizer.ggml.merges", v.merges);

    // Special ids: the vocabulary's, else the config's. Extra end-of-generation ids go to
    // the end-of-turn / end-of-message keys, which the importer adds back to eos_token_ids.
    std::vector<int> eos;
    if (v.eos_id >= 0) eos.push_back(v.eos_id);
    for (int e : c.eos_token_ids)
      if (std::find(eos.begin(), eos.end(), e) == eos.end()) eos.push_back(e);
    if (eos.size() > 3)
      fail("{}: GGUF stores at most 3 end-of-generation tokens (eos, eot, eom), got {}", path,
           eos.size());
    const int bos = v.bos_id >= 0 ? v.bos_id : c.bos_token_id;
    auto id = [&](const char* key, int value) {
      if (value < 0) return;
      if (value >= n) fail("{}: {} {} is outside the vocabulary of {} tokens", path, key, value, n);
      b.kv_u32(key, uint32_t(value));
    };
    id("tokenizer.ggml.bos_token_id", bos);
    const char* eos_keys[] = {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                              "tokenizer.ggml.eom_token_id"};
    for (size_t k = 0; k < eos.size(); ++k) id(eos_keys[k], eos[k]);
    id("tokenizer.ggml.unknown_token_id", v.unk_id);
    id("tokenizer.ggml.padding_token_id", v.pad_id);
    b.kv_bool("tokenizer.ggml.add_bos_token", v.add_bos);
    b.kv_bool("tokenizer.ggml.add_eos_token", v.add_eos);
    b.kv_bool("tokenizer.ggml.add_space_prefix", v.add_space_prefix);
  }
  if (!m.chat_template.empty()) b.kv_str("tokenizer.chat_template", m.chat_template);
}

void write_all(std::ofstream& out, const void* p, size_t n, const std::string& path) {
  out.write(static_cast<const char*>(p), std::streamsize(n));
  if (!out) fail("{}: write failed", path);
}

}  // namespace

void write_gguf(const ExportModel& m, const std::string& path, DType dtype) {
  const ModelConfig& c = m.config;
  c.validate(path);
  // llama.cpp has no "mistral" architecture for Llama-layout Mistral models.
  const std::string arch = c.arch == Arch::Mistral ? "llama" : arch_name(c.arch);
  const bool interleaved = c.arch == Arch::Llama || c.arch == Arch::Mistral;
  const uint32_t weight_type = dtype == DType::F32   ? ggml::F32
                               : dtype == DType::F16 ? ggml::F16
                                                     : ggml::BF16;

  std::vector<float> freq_factors = c.rope_freq_factors;
  if (c.rope_scaling.type == RopeScaling::Type::Llama3) {
    if (!freq_factors.empty())
      fail("{}: config has both llama3 rope scaling and rope_freq_factors", path);
    freq_factors = llama3_freq_factors(c);
  }

  std::vector<Planned> plan;
  uint64_t offset = 0;
  auto add = [&](Planned t) {
    t.offset = offset;
    offset += t.nbytes + pad_to(t.nbytes);
    plan.push_back(std::move(t));
  };
  for (const TensorEntry& e : m.tensors) {
    Planned t;
    t.entry = &e;
    t.name = canonical_to_gguf_name(e.name);
    if (t.name.empty()) fail("{}: tensor '{}' has no GGUF name", path, e.name);
    if (e.shape.empty() || e.shape.size() > 4)
      fail("{}: tensor '{}' has {} dimensions (GGUF allows 1 to 4)", path, e.name,
           e.shape.size());
    for (int64_t d : e.shape)
      if (d <= 0) fail("{}: tensor '{}' has a non-positive dimension", path, e.name);
    t.ne.assign(e.shape.rbegin(), e.shape.rend());
    t.type = e.shape.size() == 1 ? ggml::F32 : weight_type;
    t.nbytes = uint64_t(e.numel()) * (t.type == ggml::F32 ? 4 : 2);
    const bool q = e.name.ends_with("self_attn.q_proj.weight");
    if (interleaved && (q || e.name.ends_with("self_attn.k_proj.weight"))) {
      const int64_t heads = q ? c.num_heads : c.num_kv_heads;
      if (e.shape.size() != 2 || e.shape[0] != heads * c.head_dim)
        fail("{}: tensor '{}' needs {} rows ({} heads of {}) to be permuted for GGUF", path,
             e.name, heads * c.head_dim, heads, c.head_dim);
      t.permute_head_dim = c.head_dim;
    }
    add(std::move(t));
  }
  if (!freq_factors.empty()) {
    Planned t;
    t.name = "rope_freqs.weight";
    t.ne = {int64_t(freq_factors.size())};
    t.nbytes = freq_factors.size() * 4;
    add(std::move(t));
  }

  Buf b;
  write_metadata(b, m, arch, dtype, path);
  Buf head;
  head.bytes = "GGUF";
  head.raw<uint32_t>(3);
  head.raw<uint64_t>(plan.size());
  head.raw<uint64_t>(b.n_kv);
  head.bytes += b.bytes;
  for (const Planned& t : plan) {
    head.str(t.name);
    head.raw<uint32_t>(uint32_t(t.ne.size()));
    for (int64_t d : t.ne) head.raw<uint64_t>(uint64_t(d));
    head.raw<uint32_t>(t.type);
    head.raw<uint64_t>(t.offset);
  }
  head.bytes.append(pad_to(head.bytes.size()), '\0');

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("{}: cannot open for writing", path);
  write_all(out, head.bytes.data(), head.bytes.size(), path);
  const char zeros[kAlignment] = {};
  for (const Planned& t : plan) {
    std::vector<float> values;
    if (!t.entry) {
      values = freq_factors;
    } else {
      values.resize(size_t(t.entry->numel()));
      t.entry->fill(values.data());
    }
    if (t.permute_head_dim) {
      std::vector<float> permuted(values.size());
      permute_qk_rows(reinterpret_cast<const uint8_t*>(values.data()),
                      reinterpret_cast<uint8_t*>(permuted.data()),
                      int64_t(values.size()) / t.ne[0], t.ne[0] * 4, t.permute_head_dim, false);
      values.swap(permuted);
    }
    if (t.type == ggml::F32) {
      write_all(out, values.data(), values.size() * 4, path);
    } else {
      std::vector<uint16_t> half(values.size());
      for (size_t k = 0; k < values.size(); ++k)
        half[k] = t.type == ggml::F16 ? f32_to_f16(values[k]) : f32_to_bf16(values[k]);
      write_all(out, half.data(), half.size() * 2, path);
    }
    write_all(out, zeros, pad_to(t.nbytes), path);
  }
  out.close();
  if (!out) fail("{}: write failed", path);
}

}  // namespace tessera

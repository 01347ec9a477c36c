// llama2.c checkpoints have no names and no offsets: the seven header integers define the
// whole layout, so the importer computes the exact expected file size (in 128-bit
// arithmetic, since hostile headers multiply to far beyond 64 bits) and refuses any file
// that differs before touching a weight. Arrays are then zero-copy views, except Q/K,
// whose rows are permuted from llama2.c's interleaved rotary pairs to HF rotate-half.
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"
#include "model/llama2c.h"
#include "model/rotary_layout.h"
#include "model/load.h"

namespace tessera {

namespace {

constexpr uint32_t kMagic = 0x616b3432;  // "ak42"
constexpr size_t kV1HeaderBytes = 256;

int32_t read_i32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

Model load_llama2c_bytes(std::span<const uint8_t> bytes, const std::string& where,
                         std::shared_ptr<const void> owner) {
  size_t off = 0;
  bool v1 = false;
  bool shared = false;
  if (bytes.size() >= 4 && uint32_t(read_i32(bytes.data())) == kMagic) {
    if (bytes.size() < kV1HeaderBytes)
      fail("{}: llama2.c version header needs {} bytes, file has {}", where, kV1HeaderBytes,
           bytes.size());
    int32_t version = read_i32(bytes.data() + 4);
    if (version != 1)
      fail("{}: llama2.c checkpoint version {} is not supported (supported: legacy and version 1 "
           "fp32)", where, version);
    v1 = true;
    off = 8;
  } else if (bytes.size() < 28) {
    fail("{}: file is {} bytes, too short for the 28-byte llama2.c header", where, bytes.size());
  }
  int32_t hdr[7];
  for (int i = 0; i < 7; ++i) hdr[i] = read_i32(bytes.data() + off + 4 * i);
  const int64_t dim = hdr[0], hidden = hdr[1], layers = hdr[2], heads = hdr[3], kv_heads = hdr[4],
                seq_len = hdr[6];
  int64_t vocab = hdr[5];
  if (v1) {
    shared = bytes[off + 28] != 0;
    off = kV1HeaderBytes;
  } else {
    shared = vocab > 0;
    if (vocab < 0) vocab = -vocab;
    off = 28;
  }
  const std::string header_desc = fmt::format(
      "dim {}, hidden_dim {}, n_layers {}, n_heads {}, n_kv_heads {}, vocab_size {}, seq_len {}",
      hdr[0], hdr[1], hdr[2], hdr[3], hdr[4], hdr[5], hdr[6]);
  if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kv_heads <= 0 || vocab <= 0 ||
      seq_len <= 0)
    fail("{}: llama2.c header has a non-positive size ({})", where, header_desc);
  if (dim % heads != 0) fail("{}: dim {} is not a multiple of n_heads {}", where, dim, heads);
  if (heads % kv_heads != 0)
    fail("{}: n_heads {} is not a multiple of n_kv_heads {}", where, heads, kv_heads);
  const int64_t hs = dim / heads, kv_dim = kv_heads * hs;
  if (hs % 2 != 0) fail("{}: head size {} (dim / n_heads) must be even", where, hs);

  using u128 = unsigned __int128;
  const u128 L = u128(layers), D = u128(dim), H = u128(hidden), V = u128(vocab), KV = u128(kv_dim);
  u128 floats = V * D + L * D * 2 + L * D * D * 2 + L * D * KV * 2 + L * D * H * 3 + D;
  if (!v1) floats += u128(seq_len) * u128(hs);  // freq_cis_real + freq_cis_imag
  if (!shared) floats += V * D;
  const u128 expected = u128(off) + floats * 4;
  if (expected != u128(bytes.size())) {
    std::string exp_s = expected > u128(UINT64_MAX) ? std::string("more than 2^64")
                                                    : std::to_string(uint64_t(expected));
    fail("{}: llama2.c header ({}{}) implies {} bytes, file has {}", where, header_desc,
         shared ? ", shared classifier" : ", separate classifier", exp_s, bytes.size());
  }

  Model m;
  m.source = where;
  m.format = "llama2c";
  ModelConfig& c = m.config;
  c.arch = Arch::Llama;
  c.vocab_size = int(vocab);
  c.hidden_size = int(dim);
  c.intermediate_size = int(hidden);
  c.num_layers = int(layers);
  c.num_heads = int(heads);
  c.num_kv_heads = int(kv_heads);
  c.head_dim = int(hs);
  c.max_position_embeddings = int(seq_len);
  c.rms_norm_eps = 1e-5f;
  c.rope_theta = 10000.f;
  c.tie_word_embeddings = shared;
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  c.validate(where);

  // The whole size matched, so every array below lies within bytes.
  const uint8_t* base = bytes.data();
  size_t pos = off;
  auto take = [&](int64_t n) {
    const uint8_t* p = base + pos;
    pos += size_t(n) * 4;
    return p;
  };
  auto view = [&](const uint8_t* p, std::vector<int64_t> shape) {
    Tensor t = Tensor::view(DType::F32, shape, p, owner);
    if (reinterpret_cast<uintptr_t>(p) % 4 == 0) return t;
    return Tensor::owned_bytes(DType::F32, std::move(shape), std::vector<uint8_t>(p, p + t.nbytes()));
  };
  auto permuted = [&](const uint8_t* p, int64_t nheads) {
    std::vector<float> src(size_t(nheads * hs * dim)), dst(src.size());
    std::memcpy(src.data(), p, src.size() * 4);
    permute_qk_rows(reinterpret_cast<const uint8_t*>(src.data()), reinterpret_cast<uint8_t*>(dst.data()),
                    nheads * hs, dim * 4, hs, /*to_hf=*/true);
    return Tensor::owned_f32({nheads * hs, dim}, std::move(dst));
  };
  auto per_layer = [&](const uint8_t* p, const char* suffix, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (auto x : shape) n *= x;
    for (int l = 0; l < layers; ++l) m.weights[layer_weight(l, suffix)] = view(p + size_t(l * n) * 4, shape);
  };
  auto qk_layers = [&](const uint8_t* p, const char* suffix, int64_t nheads) {
    for (int l = 0; l < layers; ++l)
      m.weights[layer_weight(l, suffix)] = permuted(p + size_t(l * nheads * hs * dim) * 4, nheads);
  };

  if (v1) {
    // export.py version 1 order: norms first, then embedding, then matrices by kind.
    per_layer(take(layers * dim), "input_layernorm.weight", {dim});
    per_layer(take(layers * dim), "post_attention_layernorm.weight", {dim});
    m.weights["model.norm.weight"] = view(take(dim), {dim});
    m.weights["model.embed_tokens.weight"] = view(take(vocab * dim), {vocab, dim});
    qk_layers(take(layers * dim * dim), "self_attn.q_proj.weight", heads);
    qk_layers(take(layers * kv_dim * dim), "self_attn.k_proj.weight", kv_heads);
    per_layer(take(layers * kv_dim * dim), "self_attn.v_proj.weight", {kv_dim, dim});
    per_layer(take(layers * dim * dim), "self_attn.o_proj.weight", {dim, dim});
    per_layer(take(layers * hidden * dim), "mlp.gate_proj.weight", {hidden, dim});
    per_layer(take(layers * hidden * dim), "mlp.down_proj.weight", {dim, hidden});
    per_layer(take(layers * hidden * dim), "mlp.up_proj.weight", {hidden, dim});
  } else {
    // run.c's memory_map_weights order.
    m.weights["model.embed_tokens.weight"] = view(take(vocab * dim), {vocab, dim});
    per_layer(take(layers * dim), "input_layernorm.weight", {dim});
    qk_layers(take(layers * dim * dim), "self_attn.q_proj.weight", heads);
    qk_layers(take(layers * kv_dim * dim), "self_attn.k_proj.weight", kv_heads);
    per_layer(take(layers * kv_dim * dim), "self_attn.v_proj.weight", {kv_dim, dim});
    per_layer(take(layers * dim * dim), "self_attn.o_proj.weight", {dim, dim});
    per_layer(take(layers * dim), "post_attention_layernorm.weight", {dim});
    per_layer(take(layers * hidden * dim), "mlp.gate_proj.weight", {hidden, dim});
    per_layer(take(layers * hidden * dim), "mlp.down_proj.weight", {dim, hidden});
    per_layer(take(layers * hidden * dim), "mlp.up_proj.weight", {hidden, dim});
    m.weights["model.norm.weight"] = view(take(dim), {dim});
    take(seq_len * hs);  // freq_cis_real and freq_cis_imag: run.c recomputes RoPE
  }
  if (!shared) m.weights["lm_head.weight"] = view(take(vocab * dim), {vocab, dim});
  TS_CHECK(pos == bytes.size(), "consumed {} of {} bytes", pos, bytes.size());
  m.validate();
  return m;
}

Model load_llama2c(const std::string& path) {
  auto f = MappedFile::open(path);
  return load_llama2c_bytes(std::span<const uint8_t>(f->data(), f->size()), path, f);
}

}  // namespace tessera

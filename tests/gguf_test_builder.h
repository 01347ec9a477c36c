// Builds GGUF images byte by byte for the reader/import tests, so each negative test can
// break exactly one field of an otherwise valid file. Deliberately independent of
// src/model/gguf_export.cpp: a bug shared by writer and reader would otherwise go unseen.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace tessera::test {

class GgufBuilder {
 public:
  uint32_t version = 3;
  uint64_t alignment = 32;  // used to place tensor data (set general.alignment to match)

  template <typename T>
  static std::string le(T v) {
    std::string s(sizeof(T), '\0');
    std::memcpy(s.data(), &v, sizeof(T));
    return s;
  }
  static std::string gstr(std::string_view s) { return le<uint64_t>(s.size()) + std::string(s); }

  // A key/value with an explicit type number and encoded payload; replaces an existing key.
  GgufBuilder& kv_raw(const std::string& key, uint32_t type, std::string payload) {
    for (auto& e : kvs_)
      if (e.key == key) {
        e.type = type;
        e.payload = std::move(payload);
        return *this;
      }
    kvs_.push_back({key, type, std::move(payload)});
    return *this;
  }
  GgufBuilder& u32(const std::string& k, uint32_t v) { return kv_raw(k, 4, le(v)); }
  GgufBuilder& i32(const std::string& k, int32_t v) { return kv_raw(k, 5, le(v)); }
  GgufBuilder& f32(const std::string& k, float v) { return kv_raw(k, 6, le(v)); }
  GgufBuilder& boolean(const std::string& k, bool v) { return kv_raw(k, 7, le<uint8_t>(v)); }
  GgufBuilder& str(const std::string& k, std::string_view v) { return kv_raw(k, 8, gstr(v)); }
  GgufBuilder& strs(const std::string& k, const std::vector<std::string>& v) {
    std::string p = le<uint32_t>(8) + le<uint64_t>(v.size());
    for (const auto& s : v) p += gstr(s);
    return kv_raw(k, 9, p);
  }
  GgufBuilder& f32s(const std::string& k, const std::vector<float>& v) {
    std::string p = le<uint32_t>(6) + le<uint64_t>(v.size());
    for (float x : v) p += le(x);
    return kv_raw(k, 9, p);
  }
  GgufBuilder& i32s(const std::string& k, const std::vector<int32_t>& v) {
    std::string p = le<uint32_t>(5) + le<uint64_t>(v.size());
    for (int32_t x : v) p += le(x);
    return kv_raw(k, 9, p);
  }
  GgufBuilder& drop_key(const std::string& key) {
    for (size_t i = 0; i < kvs_.size(); ++i)
      if (kvs_[i].key == key) kvs_.erase(kvs_.begin() + long(i));
    return *this;
  }

  // A tensor with ggml dims ne (innermost first); data placed at the next aligned offset
  // unless offset is given.
  GgufBuilder& tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type,
                      std::string data, int64_t offset = -1) {
    tensors_.push_back({name, std::move(ne), type, std::move(data), offset});
    return *this;
  }
  GgufBuilder& f32_tensor(const std::string& name, std::vector<uint64_t> ne,
                          const std::vector<float>& v) {
    std::string d;
    for (float x : v) d += le(x);
    return tensor(name, std::move(ne), 0, d);
  }
  GgufBuilder& drop_tensor(const std::string& name) {
    for (size_t i = 0; i < tensors_.size(); ++i)
      if (tensors_[i].name == name) tensors_.erase(tensors_.begin() + long(i));
    return *this;
  }

  std::string build() const {
    std::string out = "GGUF" + le(version) + le<uint64_t>(tensors_.size()) +
                      le<uint64_t>(kvs_.size());
    for (const auto& e : kvs_) out += gstr(e.key) + le(e.type) + e.payload;
    std::string data;
    std::vector<uint64_t> offsets;
    for (const auto& t : tensors_) {
      while (data.size() % alignment) data += '\0';
      offsets.push_back(t.offset >= 0 ? uint64_t(t.offset) : data.size());
      data += t.data;
    }
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const auto& t = tensors_[i];
      out += gstr(t.name) + le<uint32_t>(uint32_t(t.ne.size()));
      for (uint64_t d : t.ne) out += le(d);
      out += le(t.type) + le(offsets[i]);
    }
    while (out.size() % alignment) out += '\0';
    return out + data;
  }

 private:
  struct Kv {
    std::string key;
    uint32_t type;
    std::string payload;
  };
  struct T {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type;
    std::string data;
    int64_t offset;
  };
  std::vector<Kv> kvs_;
  std::vector<T> tensors_;
};

// A valid one-layer llama model: hidden 4, 2 heads of 2, 1 kv head, ffn 4, 4 tokens (SPM).
// Weight values are i * 0.25 + base so tests can spot-check them.
inline GgufBuilder tiny_llama_builder() {
  GgufBuilder b;
  b.str("general.architecture", "llama")
      .u32("llama.block_count", 1)
      .u32("llama.context_length", 64)
      .u32("llama.embedding_length", 4)
      .u32("llama.feed_forward_length", 4)
      .u32("llama.attention.head_count", 2)
      .u32("llama.attention.head_count_kv", 1)
      .f32("llama.attention.layer_norm_rms_epsilon", 1e-5f)
      .str("tokenizer.ggml.model", "llama")
      .strs("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xe2\x96\x81hi"})
      .f32s("tokenizer.ggml.scores", {0, 0, 0, -1})
      .i32s("tokenizer.ggml.token_type", {2, 3, 3, 1})
      .u32("tokenizer.ggml.bos_token_id", 1)
      .u32("tokenizer.ggml.eos_token_id", 2);
  auto mat = [](int rows, int cols, float base) {
    std::vector<float> v;
    for (int i = 0; i < rows * cols; ++i) v.push_back(base + float(i) * 0.25f);
    return v;
  };
  b.f32_tensor("token_embd.weight", {4, 4}, mat(4, 4, 0))
      .f32_tensor("output_norm.weight", {4}, mat(1, 4, 1))
      .f32_tensor("blk.0.attn_norm.weight", {4}, mat(1, 4, 2))
      .f32_tensor("blk.0.attn_q.weight", {4, 4}, mat(4, 4, 3))
      .f32_tensor("blk.0.attn_k.weight", {4, 2}, mat(2, 4, 4))
      .f32_tensor("blk.0.attn_v.weight", {4, 2}, mat(2, 4, 5))
      .f32_tensor("blk.0.attn_output.weight", {4, 4}, mat(4, 4, 6))
      .f32_tensor("blk.0.ffn_norm.weight", {4}, mat(1, 4, 7))
      .f32_tensor("blk.0.ffn_gate.weight", {4, 4}, mat(4, 4, 8))
      .f32_tensor("blk.0.ffn_up.weight", {4, 4}, mat(4, 4, 9))
      .f32_tensor("blk.0.ffn_down.weight", {4, 4}, mat(4, 4, 10));
  return b;
}

}  // namespace tessera::test

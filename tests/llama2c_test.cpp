// llama2.c checkpoints: facts of the real stories260K.bin header, raw arrays landing under
// the right names, the Q/K permutation checked by its meaning (llama2.c's interleaved RoPE
// on the raw rows equals HF rotate-half RoPE on the permuted rows), byte-exact round trips,
// version 1 files, and each diagnostic.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/mapped_file.h"
#include "model/export.h"
#include "model/llama2c.h"
#include "model/rotary_layout.h"
#include "model/load.h"
#include "model/weight_names.h"
#include "test_util.h"

using namespace tessera;

namespace {

std::vector<uint8_t> read_all(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

std::vector<float> raw_floats(const std::vector<uint8_t>& b, size_t float_offset, size_t n) {
  std::vector<float> v(n);
  std::memcpy(v.data(), b.data() + 28 + float_offset * 4, n * 4);
  return v;
}

std::string error_of(const std::vector<uint8_t>& bytes) {
  try {
    load_llama2c_bytes(bytes, "ck.bin", nullptr);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<uint8_t> header(std::vector<int32_t> h, size_t extra_floats) {
  std::vector<uint8_t> b(h.size() * 4 + extra_floats * 4);
  std::memcpy(b.data(), h.data(), h.size() * 4);
  return b;
}

// llama2.c run.c RoPE: rotate consecutive pairs (2i, 2i+1) by pos * theta^(-2i/hs).
void rope_interleaved(std::vector<float>& q, int hs, int pos) {
  for (size_t h = 0; h < q.size() / hs; ++h)
    for (int i = 0; i < hs / 2; ++i) {
      double a = pos * std::pow(10000.0, -2.0 * i / hs);
      float& x = q[h * hs + 2 * i];
      float& y = q[h * hs + 2 * i + 1];
      float nx = float(x * std::cos(a) - y * std::sin(a)), ny = float(x * std::sin(a) + y * std::cos(a));
      x = nx, y = ny;
    }
}

// HF rotate_half RoPE: pairs (i, i + hs/2).
void rope_half(std::vector<float>& q, int hs, int pos) {
  for (size_t h = 0; h < q.size() / hs; ++h)
    for (int i = 0; i < hs / 2; ++i) {
      double a = pos * std::pow(10000.0, -2.0 * i / hs);
      float& x = q[h * hs + i];
      float& y = q[h * hs + i + hs / 2];
      float nx = float(x * std::cos(a) - y * std::sin(a)), ny = float(x * std::sin(a) + y * std::cos(a));
      x = nx, y = ny;
    }
}

std::vector<float> matvec(const std::vector<float>& w, const std::vector<float>& x) {
  size_t cols = x.size(), rows = w.size() / cols;
  std::vector<float> y(rows, 0.f);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) y[r] += w[r * cols + c] * x[c];
  return y;
}

ExportModel synthetic(bool tied) {
  ExportModel m;
  ModelConfig& c = m.config;
  c.vocab_size = 40;
  c.hidden_size = 24;
  c.intermediate_size = 36;
  c.num_layers = 2;
  c.num_heads = 6;
  c.num_kv_heads = 2;
  c.head_dim = 4;
  c.max_position_embeddings = 16;
  c.tie_word_embeddings = tied;
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  auto specs = canonical_weights(c);
  for (size_t k = 0; k < specs.size(); ++k) {
    TensorEntry e{specs[k].name, specs[k].shape, nullptr};
    int64_t n = e.numel();
    e.fill = [k, n](float* d) {
      for (int64_t i = 0; i < n; ++i) d[i] = float(k) * 1000.f + float(i);
    };
    m.tensors.push_back(std::move(e));
  }
  return m;
}

}  // namespace

TEST(Llama2c, Stories260KHeaderAndArrays) {
  auto path = test::shared_model("stories260K.bin");
  if (!path) GTEST_SKIP() << "shared/models/stories260K.bin not found (set TESSERA_SHARED_DIR)";
  Model m = load_llama2c(*path);
  const ModelConfig& c = m.config;
  EXPECT_EQ(m.format, "llama2c");
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 172);
  EXPECT_EQ(c.num_layers, 5);
  EXPECT_EQ(c.num_heads, 8);
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.max_position_embeddings, 512);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(m.has("lm_head.weight"));
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{2});
  EXPECT_EQ(c.rope_theta, 10000.f);
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-5f);

  // Raw offsets (in floats after the header), per run.c's memory_map_weights.
  auto b = read_all(*path);
  const size_t D = 64, L = 5, V = 512, KV = 32, F = 172;
  const size_t emb = 0, rms_att = emb + V * D, wq = rms_att + L * D, wk = wq + L * D * D,
               wv = wk + L * D * KV, wo = wv + L * D * KV, rms_ffn = wo + L * D * D,
               w1 = rms_ffn + L * D, w2 = w1 + L * F * D, w3 = w2 + L * F * D, rms_f = w3 + L * F * D;
  EXPECT_EQ(m.weight("model.embed_tokens.weight").to_f32(), raw_floats(b, emb, V * D));
  EXPECT_EQ(m.weight("model.layers.2.input_layernorm.weight").to_f32(), raw_floats(b, rms_att + 2 * D, D));
  EXPECT_EQ(m.weight("model.layers.3.self_attn.v_proj.weight").to_f32(), raw_floats(b, wv + 3 * D * KV, D * KV));
  EXPECT_EQ(m.weight("model.layers.4.self_attn.o_proj.weight").to_f32(), raw_floats(b, wo + 4 * D * D, D * D));
  EXPECT_EQ(m.weight("model.layers.1.post_attention_layernorm.weight").to_f32(), raw_floats(b, rms_ffn + D, D));
  EXPECT_EQ(m.weight("model.layers.1.mlp.gate_proj.weight").to_f32(), raw_floats(b, w1 + F * D, F * D));
  EXPECT_EQ(m.weight("model.layers.1.mlp.down_proj.weight").to_f32(), raw_floats(b, w2 + F * D, F * D));
  EXPECT_EQ(m.weight("model.layers.1.mlp.up_proj.weight").to_f32(), raw_floats(b, w3 + F * D, F * D));
  EXPECT_EQ(m.weight("model.norm.weight").to_f32(), raw_floats(b, rms_f, D));
  // Non-permuted tensors are zero-copy views into the mapping.
  EXPECT_NE(m.weight("model.layers.0.mlp.up_proj.weight").owner, nullptr);

  // Q/K: same multiset of rows, and RoPE semantics preserved.
  for (int layer : {0, 4}) {
    auto x = raw_floats(b, emb + 7 * D, D);  // any vector will do: token 7's embedding
    auto q_raw = matvec(raw_floats(b, wq + layer * D * D, D * D), x);
    auto k_raw = matvec(raw_floats(b, wk + layer * D * KV, D * KV), x);
    auto q_hf = matvec(m.weight(layer_weight(layer, "self_attn.q_proj.weight")).to_f32(), x);
    auto k_hf = matvec(m.weight(layer_weight(layer, "self_attn.k_proj.weight")).to_f32(), x);
    for (int pos : {0, 3, 100}) {
      auto a = q_raw, bq = q_hf, ka = k_raw, kb = k_hf;
      rope_interleaved(a, 8, pos);
      rope_half(bq, 8, pos);
      rope_interleaved(ka, 8, pos);
      rope_half(kb, 8, pos);
      // Attention scores (q_head . k_kvhead) must agree between the two layouts.
      for (int h = 0; h < 8; ++h) {
        float sa = 0, sb = 0;
        for (int d = 0; d < 8; ++d) {
          sa += a[h * 8 + d] * ka[(h / 2) * 8 + d];
          sb += bq[h * 8 + d] * kb[(h / 2) * 8 + d];
        }
        EXPECT_NEAR(sa, sb, 1e-4f * (1.f + std::fabs(sa))) << "layer " << layer << " pos " << pos;
      }
      // And element-wise: interleaved (2i+j) <-> half (j*4+i).
      for (int h = 0; h < 8; ++h)
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 2; ++j) EXPECT_EQ(a[h * 8 + 2 * i + j], bq[h * 8 + j * 4 + i]);
    }
  }
}

TEST(Llama2c, Stories260KRoundTripIsByteExact) {
  auto path = test::shared_model("stories260K.bin");
  if (!path) GTEST_SKIP() << "shared/models/stories260K.bin not found (set TESSERA_SHARED_DIR)";
  test::TempDir tmp;
  Model m = load_llama2c(*path);
  write_llama2c(export_from(m, VocabSpec{}), tmp.file("out.bin"));
  auto a = read_all(*path), b = read_all(tmp.file("out.bin"));
  ASSERT_EQ(a.size(), b.size());
  // Everything but freq_cis (recomputed, float rounding may differ) is identical.
  const size_t freq_begin = 28 + 4 * size_t(264128 - 4096), freq_end = freq_begin + 4 * 4096;
  EXPECT_TRUE(std::equal(a.begin(), a.begin() + freq_begin, b.begin()));
  EXPECT_TRUE(std::equal(a.begin() + freq_end, a.end(), b.begin() + freq_end));
  for (size_t o = freq_begin; o < freq_end; o += 4) {
    float x, y;
    std::memcpy(&x, &a[o], 4);
    std::memcpy(&y, &b[o], 4);
    ASSERT_NEAR(x, y, 1e-4f) << "freq_cis float " << (o - freq_begin) / 4;
  }
}

TEST(Llama2c, SyntheticRoundTripTiedAndUntied) {
  for (bool tied : {true, false}) {
    test::TempDir tmp;
    ExportModel e = synthetic(tied);
    write_llama2c(e, tmp.file("m.bin"));
    Model m = load_llama2c(tmp.file("m.bin"));
    EXPECT_EQ(m.config.tie_word_embeddings, tied);
    EXPECT_EQ(m.config.num_kv_heads, 2);
    EXPECT_EQ(m.weights.size(), canonical_weights(m.config).size());
    for (const auto& t : e.tensors) {
      if (!m.has(t.name)) {
        EXPECT_TRUE(tied && t.name == "lm_head.weight") << t.name;
        continue;
      }
      std::vector<float> want(size_t(t.numel()));
      t.fill(want.data());
      EXPECT_EQ(m.weight(t.name).to_f32(), want) << t.name;
    }
    // Untied files store a negative vocab_size.
    auto b = read_all(tmp.file("m.bin"));
    int32_t v;
    std::memcpy(&v, b.data() + 20, 4);
    EXPECT_EQ(v, tied ? 40 : -40);
  }
}

TEST(Llama2c, Version1File) {
  // Build an "ak42" version 1 image from a legacy file's arrays in export.py's order.
  test::TempDir tmp;
  ExportModel e = synthetic(false);
  write_llama2c(e, tmp.file("legacy.bin"));
  Model legacy = load_llama2c(tmp.file("legacy.bin"));
  const ModelConfig& c = legacy.config;
  std::vector<uint8_t> img(256, 0);
  uint32_t magic = 0x616b3432;
  int32_t version = 1;
  int32_t hdr[7] = {c.hidden_size, c.intermediate_size, c.num_layers, c.num_heads, c.num_kv_heads,
                    c.vocab_size, c.max_position_embeddings};
  std::memcpy(img.data(), &magic, 4);
  std::memcpy(img.data() + 4, &version, 4);
  std::memcpy(img.data() + 8, hdr, 28);
  img[36] = 0;  // separate classifier
  std::vector<float> q_interleaved;
  auto append = [&](const std::vector<float>& v) {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(v.data());
    img.insert(img.end(), p, p + v.size() * 4);
  };
  auto layers = [&](const char* suffix, bool permute, int heads) {
    for (int l = 0; l < c.num_layers; ++l) {
      auto v = legacy.weight(layer_weight(l, suffix)).to_f32();
      if (permute) {
        std::vector<float> out(v.size());
        permute_qk_rows(reinterpret_cast<const uint8_t*>(v.data()), reinterpret_cast<uint8_t*>(out.data()),
                        int64_t(heads) * c.head_dim, int64_t(c.hidden_size) * 4, c.head_dim, false);
        v = out;
      }
      append(v);
    }
  };
  layers("input_layernorm.weight", false, 0);
  layers("post_attention_layernorm.weight", false, 0);
  append(legacy.weight("model.norm.weight").to_f32());
  append(legacy.weight("model.embed_tokens.weight").to_f32());
  layers("self_attn.q_proj.weight", true, c.num_heads);
  layers("self_attn.k_proj.weight", true, c.num_kv_heads);
  layers("self_attn.v_proj.weight", false, 0);
  layers("self_attn.o_proj.weight", false, 0);
  layers("mlp.gate_proj.weight", false, 0);
  layers("mlp.down_proj.weight", false, 0);
  layers("mlp.up_proj.weight", false, 0);
  append(legacy.weight("lm_head.weight").to_f32());
  Model v1 = load_llama2c_bytes(img, "v1.bin", nullptr);
  ASSERT_EQ(v1.weights.size(), legacy.weights.size());
  for (const auto& [name, t] : legacy.weights) EXPECT_EQ(v1.weight(name).to_f32(), t.to_f32()) << name;

  img[36] = 1;  // shared classifier: the trailing lm_head is now 40*24 floats too many
  EXPECT_EQ(error_of(img).rfind("ck.bin: llama2.c header (dim 24, hidden_dim 36, n_layers 2, n_heads 6, "
                                "n_kv_heads 2, vocab_size 40, seq_len 16, shared classifier) implies ", 0),
            0u)
      << error_of(img);
  int32_t v2 = 2;
  std::memcpy(img.data() + 4, &v2, 4);
  EXPECT_EQ(error_of(img), "ck.bin: llama2.c checkpoint version 2 is not supported (supported: legacy "
                           "and version 1 fp32)");
  img.resize(100);
  EXPECT_EQ(error_of(img), "ck.bin: llama2.c version header needs 256 bytes, file has 100");
}

TEST(Llama2c, Errors) {
  EXPECT_EQ(error_of({1, 2, 3}), "ck.bin: file is 3 bytes, too short for the 28-byte llama2.c header");
  EXPECT_EQ(error_of(header({64, 172, 5, 8, 4, 512, 512}, 10)),
            "ck.bin: llama2.c header (dim 64, hidden_dim 172, n_layers 5, n_heads 8, n_kv_heads 4, "
            "vocab_size 512, seq_len 512, shared classifier) implies 1056540 bytes, file has 68");
  EXPECT_EQ(error_of(header({64, 172, 5, 8, 4, -512, 512}, 0)),
            "ck.bin: llama2.c header (dim 64, hidden_dim 172, n_layers 5, n_heads 8, n_kv_heads 4, "
            "vocab_size -512, seq_len 512, separate classifier) implies 1187612 bytes, file has 28");
  std::string huge = error_of(header({0x7ffffffe, 0x7fffffff, 0x7fffffff, 1, 1, 0x7fffffff, 0x7fffffff}, 0));
  EXPECT_TRUE(huge.ends_with("implies more than 2^64 bytes, file has 28")) << huge;
  EXPECT_EQ(error_of(header({64, 0, 5, 8, 4, 512, 512}, 0)),
            "ck.bin: llama2.c header has a non-positive size (dim 64, hidden_dim 0, n_layers 5, n_heads 8, "
            "n_kv_heads 4, vocab_size 512, seq_len 512)");
  EXPECT_EQ(error_of(header({64, 172, 5, 8, 4, int32_t(0x80000000), 512}, 0)).rfind("ck.bin: llama2.c header (", 0), 0u);
  EXPECT_EQ(error_of(header({60, 172, 5, 8, 4, 512, 512}, 0)), "ck.bin: dim 60 is not a multiple of n_heads 8");
  EXPECT_EQ(error_of(header({64, 172, 5, 8, 3, 512, 512}, 0)), "ck.bin: n_heads 8 is not a multiple of n_kv_heads 3");
  EXPECT_EQ(error_of(header({24, 172, 5, 8, 4, 512, 512}, 0)), "ck.bin: head size 3 (dim / n_heads) must be even");
}

TEST(Llama2c, ExportRefusesWhatRunCCannotCompute) {
  test::TempDir tmp;
  auto err = [&](ExportModel e) -> std::string {
    try {
      write_llama2c(e, tmp.file("x.bin"));
    } catch (const Error& ex) {
      return ex.what();
    }
    return "(no error)";
  };
  const std::string p = tmp.file("x.bin");
  ExportModel e = synthetic(true);
  e.config.rope_theta = 500000.f;
  EXPECT_EQ(err(e), p + ": llama2.c fixes rope_theta at 10000, the model has 500000");
  e = synthetic(true);
  e.config.rope_scaling.type = RopeScaling::Type::Linear;
  e.config.rope_scaling.factor = 2.f;
  EXPECT_EQ(err(e), p + ": llama2.c checkpoints cannot express rope scaling");
  e = synthetic(true);
  e.config.arch = Arch::Qwen2;
  e.config.attention_bias = true;
  EXPECT_EQ(err(e), p + ": llama2.c checkpoints cannot hold attention biases (qwen2)");
  e = synthetic(true);
  e.config.arch = Arch::Qwen3;
  e.config.qk_norm = true;
  EXPECT_EQ(err(e), p + ": llama2.c checkpoints cannot hold q/k norms (qwen3)");
  e = synthetic(true);
  e.config.head_dim = 8;
  EXPECT_EQ(err(e), p + ": llama2.c needs head_dim * heads == hidden size, the model has 8 * 6 != 24");
  e = synthetic(true);
  e.tensors.erase(e.tensors.begin() + 3);
  EXPECT_EQ(err(e), p + ": the model to export has no tensor 'model.layers.0.self_attn.k_proj.weight'");
  e = synthetic(true);
  e.tensors[1].shape = {25};
  EXPECT_EQ(err(e), p + ": tensor 'model.layers.0.input_layernorm.weight' has shape [25], the config implies [24]");
}

// Converts stories260K.bin to an HF directory; with TESSERA_HF_EXPORT_DIR set the result is
// kept for tools/check_hf_export.py, which compares it with transformers' own GGUF import.
TEST(Llama2c, Stories260KToHf) {
  auto path = test::shared_model("stories260K.bin");
  if (!path) GTEST_SKIP() << "shared/models/stories260K.bin not found (set TESSERA_SHARED_DIR)";
  test::TempDir tmp;
  std::string dir = tmp.file("hf");
  if (const char* keep = std::getenv("TESSERA_HF_EXPORT_DIR"); keep && *keep)
    dir = std::string(keep) + "/../stories260K_hf";
  Model m = load_llama2c(*path);
  write_hf(export_from(m, VocabSpec{}), dir, DType::F32);
  Model h = load_hf(dir);
  for (const auto& [name, t] : m.weights) EXPECT_EQ(h.weight(name).to_f32(), t.to_f32()) << name;
}

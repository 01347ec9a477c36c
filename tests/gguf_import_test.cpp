// GGUF -> Model: real files (stories260K against its llama2.c twin, SmolLM2 against
// gguf-py), fixtures written by gguf-py with llama.cpp's Q/K permutation, and one negative
// test per import diagnostic.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "gguf_test_builder.h"
#include "model/gguf_import.h"
#include "model/load.h"
#include "test_util.h"

namespace tessera {
namespace {

using test::GgufBuilder;

std::string fixture(const std::string& name) {
  return std::string(TESSERA_SOURCE_DIR) + "/tests/data/gguf/" + name;
}

std::string import_error(const GgufBuilder& b) {
  std::string bytes = b.build();
  try {
    model_from_gguf(GgufFile::parse(bytes, "m.gguf"));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

float at2(const Tensor& t, int64_t r, int64_t c) { return t.at(r * t.shape[1] + c); }

TEST(GgufImport, Stories260KMatchesLlama2cCheckpoint) {
  auto gguf = test::shared_model("stories260K.gguf");
  auto bin = test::shared_model("stories260K.bin");
  if (!gguf || !bin) GTEST_SKIP() << "stories260K.{gguf,bin} not found in shared/models";
  Model m = load_gguf(*gguf);
  const ModelConfig& c = m.config;
  EXPECT_EQ(m.format, "gguf");
  EXPECT_EQ(c.arch, Arch::Llama);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.num_layers, 5);
  EXPECT_EQ(c.num_heads, 8);
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.intermediate_size, 172);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_EQ(c.rope_theta, 10000.f);  // no freq_base key: default
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-5f);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{2});
  ASSERT_TRUE(m.vocab);
  EXPECT_EQ(m.vocab->kind, VocabSpec::Kind::Spm);
  EXPECT_EQ(m.vocab->tokens.size(), 512u);
  EXPECT_EQ(m.vocab->scores.size(), 512u);
  EXPECT_EQ(m.vocab->unk_id, 0);
  EXPECT_EQ(m.vocab->pad_id, -1);  // stored as 0xFFFFFFFF
  EXPECT_TRUE(m.vocab->add_bos);
  EXPECT_TRUE(m.vocab->add_space_prefix);  // default for SPM

  // llama2.c layout: 7 int32 header, embeddings [vocab, dim], rms_att [L, dim], then
  // wq [L, dim, dim], wk [L, kv_dim, dim]. Both files store Meta's interleaved rotary
  // rows (the GGUF's raw rows equal the .bin's), so after import q_proj row
  // h*d + j*d/2 + i must equal wq row h*d + 2i + j.
  std::ifstream in(*bin, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), {});
  auto f32 = [&](size_t idx) {
    float v;
    std::memcpy(&v, raw.data() + 28 + 4 * idx, 4);
    return v;
  };
  const size_t dim = 64, L = 5, V = 512, kv_dim = 32, d = 8;
  const size_t wq0 = V * dim + L * dim, wk0 = wq0 + L * dim * dim;
  const Tensor& q = m.weight("model.layers.0.self_attn.q_proj.weight");
  const Tensor& k = m.weight("model.layers.0.self_attn.k_proj.weight");
  ASSERT_EQ(q.shape, (std::vector<int64_t>{64, 64}));
  for (size_t h = 0; h < dim / d; ++h)
    for (size_t i = 0; i < d / 2; ++i)
      for (size_t j = 0; j < 2; ++j)
        for (size_t col = 0; col < dim; ++col) {
          const size_t hf_row = h * d + j * d / 2 + i, meta_row = h * d + 2 * i + j;
          ASSERT_EQ(at2(q, hf_row, col), f32(wq0 + meta_row * dim + col));
          if (h < kv_dim / d) ASSERT_EQ(at2(k, hf_row, col), f32(wk0 + meta_row * dim + col));
        }
  // Unpermuted weights are zero-copy views sharing the mapping; permuted ones are copies.
  const Tensor& emb = m.weight("model.embed_tokens.weight");
  EXPECT_EQ(emb.at(3 * 64 + 5), f32(3 * 64 + 5));
  EXPECT_EQ(emb.owner, m.weight("model.norm.weight").owner);
  EXPECT_NE(q.owner, emb.owner);
}

TEST(GgufImport, SmolLM2) {
  auto path = test::smollm2_gguf();
  if (!path) GTEST_SKIP() << "SmolLM2-135M-Instruct.Q4_1.gguf not found";
  Model m = load_gguf(*path);
  const ModelConfig& c = m.config;
  EXPECT_EQ(c.arch, Arch::Llama);
  EXPECT_EQ(c.hidden_size, 576);
  EXPECT_EQ(c.num_layers, 30);
  EXPECT_EQ(c.num_heads, 9);
  EXPECT_EQ(c.num_kv_heads, 3);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.intermediate_size, 1536);
  EXPECT_EQ(c.vocab_size, 49152);
  EXPECT_EQ(c.max_position_embeddings, 8192);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(m.has("lm_head.weight"));
  EXPECT_EQ(c.rope_theta, 100000.f);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{2});
  EXPECT_NE(m.chat_template.find("<|im_start|>"), std::string::npos);
  ASSERT_TRUE(m.vocab);
  EXPECT_EQ(m.vocab->kind, VocabSpec::Kind::Gpt2Bpe);
  EXPECT_EQ(m.vocab->tokens.size(), 49152u);
  EXPECT_EQ(m.vocab->merges.size(), 48900u);
  EXPECT_EQ(m.vocab->pre, "smollm");
  EXPECT_FALSE(m.vocab->add_bos);
  EXPECT_FALSE(m.vocab->add_space_prefix);
  EXPECT_EQ(m.vocab->pad_id, 2);
  // gguf-py 0.19.0: dequantize(blk.0.attn_q.weight) (Q4_1); HF row 1 of head 0 is GGUF row
  // 2 (i=1, j=0), and HF row 40 is GGUF row 17 (i=8, j=1). Row sum of HF row 1 in float64.
  const Tensor& q = m.weight("model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(q.dtype, DType::F32);
  const float row1[8] = {-0.1591796875f,    0.39794921875f,   -0.0198974609375f,
                         -1.2734375f,       0.8157958984375f, -0.2984619140625f,
                         0.119384765625f,   0.2586669921875f};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(at2(q, 1, i), row1[i]) << i;
  double s1 = 0, s40 = 0;
  for (int i = 0; i < 576; ++i) s1 += at2(q, 1, i), s40 += at2(q, 40, i);
  EXPECT_NEAR(s1, 4.22308349609375, 1e-9);
  EXPECT_NEAR(s40, -6.202178955078125, 1e-9);
  EXPECT_EQ(at2(m.weight("model.embed_tokens.weight"), 1, 4), -0.111083984375f);
  EXPECT_EQ(m.weight("model.norm.weight").dtype, DType::F32);
}

// Written by gguf-py from HF-layout Q/K (value = base + row*100 + col) permuted with
// llama.cpp's converter formula: import must restore the HF layout.
TEST(GgufImport, UndoesLlamaCppPermutation) {
  Model m = load_gguf(fixture("tiny_llama.gguf"));
  EXPECT_EQ(m.config.head_dim, 8);
  EXPECT_TRUE(m.config.tie_word_embeddings);
  const Tensor& q = m.weight("model.layers.0.self_attn.q_proj.weight");
  const Tensor& k = m.weight("model.layers.0.self_attn.k_proj.weight");
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) {
      ASSERT_EQ(at2(q, r, c), float(r * 100 + c)) << r << "," << c;
      if (r < 8) ASSERT_EQ(at2(k, r, c), float(5000 + r * 100 + c)) << r << "," << c;
    }
  EXPECT_EQ(m.vocab->token_types[7], 6);
  EXPECT_EQ(m.vocab->scores[9], -6.f);
}

TEST(GgufImport, Qwen2KeepsLayoutAndBiases) {
  Model m = load_gguf(fixture("tiny_qwen2.gguf"));
  const ModelConfig& c = m.config;
  EXPECT_EQ(c.arch, Arch::Qwen2);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.rope_theta, 1000000.f);
  EXPECT_EQ(c.vocab_size, 8);  // from the token list (no vocab_size key)
  const Tensor& q = m.weight("model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(q.dtype, DType::F16);  // zero-copy view
  for (int r = 0; r < 8; ++r)
    for (int col = 0; col < 8; ++col) ASSERT_EQ(at2(q, r, col), float(r * 100 + col));
  EXPECT_EQ(m.weight("model.layers.0.self_attn.k_proj.bias").shape, std::vector<int64_t>{4});
  ASSERT_TRUE(m.vocab);
  EXPECT_EQ(m.vocab->kind, VocabSpec::Kind::Gpt2Bpe);
  EXPECT_EQ(m.vocab->merges, (std::vector<std::string>{"a b", "\xc4\xa0 ab"}));
  EXPECT_EQ(m.vocab->pre, "qwen2");
  EXPECT_EQ(m.vocab->eos_id, 7);
  EXPECT_EQ(m.vocab->bos_id, -1);
  EXPECT_EQ(m.vocab->pad_id, 5);
  EXPECT_FALSE(m.vocab->add_bos);
  EXPECT_EQ(c.bos_token_id, -1);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{7});
  EXPECT_EQ(m.chat_template,
            "{% for m in messages %}<|im_start|>{{ m['content'] }}<|im_end|>{% endfor %}");
}

TEST(GgufImport, Qwen3QuantisedWithQkNorm) {
  Model m = load_gguf(fixture("tiny_qwen3.gguf"));
  EXPECT_EQ(m.config.arch, Arch::Qwen3);
  EXPECT_TRUE(m.config.qk_norm);
  EXPECT_EQ(m.config.head_dim, 16);
  EXPECT_EQ(m.config.num_heads * m.config.head_dim, 32);
  const Tensor& q = m.weight("model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(q.dtype, DType::F32);  // dequantised from Q8_0
  EXPECT_EQ(q.shape, (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(m.weight("model.layers.0.self_attn.q_norm.weight").shape, std::vector<int64_t>{16});
  EXPECT_EQ(m.weight("model.layers.0.mlp.down_proj.weight").shape,
            (std::vector<int64_t>{32, 32}));
}

TEST(GgufImport, BuilderModelLoads) {
  std::string bytes = test::tiny_llama_builder().build();
  Model m = model_from_gguf(GgufFile::parse(bytes, "m.gguf"));
  EXPECT_EQ(m.config.head_dim, 2);
  // Head size 2: i = 0 only, so GGUF rows (0, 1) are HF rows (0, 1): no change.
  EXPECT_EQ(at2(m.weight("model.layers.0.self_attn.q_proj.weight"), 1, 0), 3.f + 4 * 0.25f);
  EXPECT_EQ(m.source, "m.gguf");
}

TEST(GgufImport, RopeFreqsAndScaling) {
  auto b = test::tiny_llama_builder();
  b.f32_tensor("rope_freqs.weight", {1}, {8.f});
  std::string bytes = b.build();
  Model m = model_from_gguf(GgufFile::parse(bytes, "m.gguf"));
  EXPECT_EQ(m.config.rope_freq_factors, std::vector<float>{8.f});

  auto l = test::tiny_llama_builder();
  l.str("llama.rope.scaling.type", "linear").f32("llama.rope.scaling.factor", 4.f);
  bytes = l.build();
  m = model_from_gguf(GgufFile::parse(bytes, "m.gguf"));
  EXPECT_EQ(m.config.rope_scaling.type, RopeScaling::Type::Linear);
  EXPECT_EQ(m.config.rope_scaling.factor, 4.f);

  l.str("llama.rope.scaling.type", "yarn");
  EXPECT_EQ(import_error(l),
            "m.gguf: rope scaling type 'yarn' (llama.rope.scaling.type) is not supported "
            "(supported: none, linear; llama3 scaling is read from rope_freqs.weight)");
  l.str("llama.rope.scaling.type", "linear");
  l.f32_tensor("rope_freqs.weight", {1}, {8.f});
  EXPECT_EQ(import_error(l), "m.gguf: both rope_freqs.weight and llama.rope.scaling.type are set");
  b.drop_tensor("rope_freqs.weight").f32_tensor("rope_freqs.weight", {2}, {1.f, 2.f});
  EXPECT_EQ(import_error(b),
            "m.gguf: tensor 'rope_freqs.weight' has 2 elements, expected head_dim/2 = 1");
}

TEST(GgufImport, Errors) {
  auto err = [](auto edit) {
    auto b = test::tiny_llama_builder();
    edit(b);
    return import_error(b);
  };
  EXPECT_EQ(err([](GgufBuilder& b) { b.str("general.architecture", "gpt2"); }),
            "m.gguf: general.architecture: unsupported architecture 'gpt2' (supported: llama, "
            "mistral, qwen2, qwen3)");
  EXPECT_EQ(err([](GgufBuilder& b) { b.drop_key("general.architecture"); }),
            "m.gguf: missing metadata key 'general.architecture'");
  EXPECT_EQ(err([](GgufBuilder& b) { b.drop_key("llama.block_count"); }),
            "m.gguf: missing metadata key 'llama.block_count'");
  EXPECT_EQ(err([](GgufBuilder& b) { b.str("llama.block_count", "1"); }),
            "m.gguf: metadata key 'llama.block_count' has type string, expected an integer");
  EXPECT_EQ(err([](GgufBuilder& b) { b.kv_raw("llama.block_count", 11, GgufBuilder::le<int64_t>(-1)); }),
            "m.gguf: metadata key 'llama.block_count' value -1 is out of range");
  EXPECT_EQ(err([](GgufBuilder& b) { b.u32("llama.attention.head_count", 0); }),
            "m.gguf: llama.attention.head_count must be positive");
  EXPECT_EQ(err([](GgufBuilder& b) { b.u32("llama.attention.head_count", 3); }),
            "m.gguf: llama.embedding_length 4 is not a multiple of attention.head_count 3 (and "
            "no attention.key_length is given)");
  EXPECT_EQ(err([](GgufBuilder& b) { b.u32("llama.attention.key_length", 3); }),
            "m.gguf: head_dim (llama.attention.key_length or embedding_length / head_count) "
            "must be positive and even, got 3");
  EXPECT_EQ(err([](GgufBuilder& b) { b.u32("llama.embedding_length", 0); }),
            "m.gguf: head_dim (llama.attention.key_length or embedding_length / head_count) "
            "must be positive and even, got 0");
  EXPECT_EQ(err([](GgufBuilder& b) { b.u32("llama.attention.value_length", 4); }),
            "m.gguf: llama.attention.value_length 4 differs from key_length 2 (not supported)");
  EXPECT_EQ(err([](GgufBuilder& b) { b.u32("llama.rope.dimension_count", 1); }),
            "m.gguf: llama.rope.dimension_count 1 differs from head_dim 2 (partial rotary "
            "embeddings are not supported)");
  EXPECT_EQ(err([](GgufBuilder& b) { b.drop_key("llama.attention.layer_norm_rms_epsilon"); }),
            "m.gguf: missing metadata key 'llama.attention.layer_norm_rms_epsilon'");
  EXPECT_EQ(err([](GgufBuilder& b) { b.str("tokenizer.ggml.model", "bert"); }),
            "m.gguf: tokenizer.ggml.model 'bert' is not supported (supported: llama, gpt2)");
  EXPECT_EQ(err([](GgufBuilder& b) { b.drop_key("tokenizer.ggml.tokens"); }),
            "m.gguf: missing metadata key 'tokenizer.ggml.tokens'");
  EXPECT_EQ(err([](GgufBuilder& b) { b.strs("tokenizer.ggml.tokens", {}); }),
            "m.gguf: tokenizer.ggml.tokens is empty");
  EXPECT_EQ(err([](GgufBuilder& b) { b.f32s("tokenizer.ggml.scores", {0}); }),
            "m.gguf: tokenizer.ggml.scores has 1 entries but tokenizer.ggml.tokens has 4");
  EXPECT_EQ(err([](GgufBuilder& b) { b.i32s("tokenizer.ggml.token_type", {1, 1, 9, 1}); }),
            "m.gguf: tokenizer.ggml.token_type[2] = 9 is not a token type (0..6)");
  EXPECT_EQ(err([](GgufBuilder& b) { b.u32("tokenizer.ggml.bos_token_id", 4); }),
            "m.gguf: tokenizer.ggml.bos_token_id 4 is outside the vocabulary of 4 tokens");
  EXPECT_EQ(err([](GgufBuilder& b) { b.f32_tensor("blk.0.ffn_gate.bias", {4}, {0, 0, 0, 0}); }),
            "m.gguf: unexpected tensor 'blk.0.ffn_gate.bias' for a llama model");
  EXPECT_EQ(err([](GgufBuilder& b) { b.f32_tensor("blk.0.attn_q.bias", {4}, {0, 0, 0, 0}); }),
            "m.gguf: unexpected tensor 'blk.0.attn_q.bias' for a llama model");
  EXPECT_EQ(err([](GgufBuilder& b) { b.f32_tensor("blk.1.attn_norm.weight", {4}, {0, 0, 0, 0}); }),
            "m.gguf: tensor 'blk.1.attn_norm.weight' belongs to layer 1 but llama.block_count "
            "is 1");
  EXPECT_EQ(err([](GgufBuilder& b) { b.drop_tensor("blk.0.ffn_up.weight"); }),
            "m.gguf: missing weight 'model.layers.0.mlp.up_proj.weight'");
  EXPECT_EQ(err([](GgufBuilder& b) {
              b.drop_tensor("blk.0.attn_q.weight")
                  .f32_tensor("blk.0.attn_q.weight", {4, 2}, std::vector<float>(8, 0.f));
            }),
            "m.gguf: tensor 'blk.0.attn_q.weight' has shape [2, 4], expected 4 rows (2 heads "
            "of 2)");
  EXPECT_EQ(err([](GgufBuilder& b) {
              b.drop_tensor("blk.0.ffn_down.weight")
                  .f32_tensor("blk.0.ffn_down.weight", {2, 4}, std::vector<float>(8, 0.f));
            }),
            "m.gguf: weight 'model.layers.0.mlp.down_proj.weight' has shape [4, 2], expected "
            "[4, 4]");
  EXPECT_EQ(err([](GgufBuilder& b) {
              b.drop_tensor("blk.0.ffn_up.weight")
                  .tensor("blk.0.ffn_up.weight", {256, 4}, 16, std::string(4 * 66, '\0'));
            }),
            "m.gguf: tensor 'blk.0.ffn_up.weight': ggml type IQ2_XXS is not supported "
            "(supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, "
            "Q6_K, Q8_K)");
  EXPECT_EQ(err([](GgufBuilder& b) { b.u32("llama.vocab_size", 5); }),
            "m.gguf: weight 'model.embed_tokens.weight' has shape [4, 4], expected [5, 4]");
}

TEST(GgufImport, OptionalKeysAndIgnoredTensors) {
  auto b = test::tiny_llama_builder();
  b.drop_key("llama.attention.head_count_kv")
      .drop_tensor("blk.0.attn_k.weight")
      .drop_tensor("blk.0.attn_v.weight")
      .f32_tensor("blk.0.attn_k.weight", {4, 4}, std::vector<float>(16, 1.f))
      .f32_tensor("blk.0.attn_v.weight", {4, 4}, std::vector<float>(16, 1.f))
      .f32_tensor("blk.0.attn_rot_embd", {4}, {0, 0, 0, 0})
      .drop_key("tokenizer.ggml.model")
      .u32("tokenizer.ggml.eot_token_id", 3);
  std::string bytes = b.build();
  Model m = model_from_gguf(GgufFile::parse(bytes, "m.gguf"));
  EXPECT_EQ(m.config.num_kv_heads, 2);  // defaults to head_count
  EXPECT_FALSE(m.vocab);                // no tokenizer.ggml.model
  EXPECT_EQ(m.config.vocab_size, 4);    // from token_embd
  EXPECT_EQ(m.config.eos_token_ids, std::vector<int>{});
  EXPECT_FALSE(m.has("blk.0.attn_rot_embd"));
  auto e = test::tiny_llama_builder();
  e.u32("tokenizer.ggml.eot_token_id", 3).u32("tokenizer.ggml.padding_token_id", 0xFFFFFFFFu);
  bytes = e.build();
  m = model_from_gguf(GgufFile::parse(bytes, "m.gguf"));
  EXPECT_EQ(m.config.eos_token_ids, (std::vector<int>{2, 3}));
  EXPECT_EQ(m.vocab->pad_id, -1);
}

}  // namespace
}  // namespace tessera

// write_gguf -> load_gguf round trips: every tensor and config field comes back (exactly
// for F32; rounded once to F16/BF16 otherwise), Q/K permutation is undone, and the file
// layout is what llama.cpp expects (mistral written as llama, norms in F32, rope_freqs).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <random>

#include "core/error.h"
#include "model/export.h"
#include "model/gguf_import.h"
#include "model/gguf_reader.h"
#include "model/load.h"
#include "test_util.h"

namespace tessera {
namespace {

struct Built {
  ExportModel em;
  std::map<std::string, std::shared_ptr<std::vector<float>>> values;
};

Built make_model(Arch arch, bool tied, uint32_t seed) {
  Built b;
  ModelConfig& c = b.em.config;
  c.arch = arch;
  c.vocab_size = 12;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 8;  // q rows 32 != hidden: exercises key_length
  c.max_position_embeddings = 512;
  c.rms_norm_eps = 1e-6f;
  c.rope_theta = 500000.f;
  c.tie_word_embeddings = tied;
  c.attention_bias = arch == Arch::Qwen2;
  c.qk_norm = arch == Arch::Qwen3;
  c.bos_token_id = 1;
  c.eos_token_ids = {2, 11};

  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    TensorEntry e;
    e.name = name;
    e.shape = shape;
    auto v = std::make_shared<std::vector<float>>(size_t(e.numel()));
    for (auto& x : *v) x = nd(rng);
    b.values[name] = v;
    e.fill = [v](float* dst) { std::copy(v->begin(), v->end(), dst); };
    b.em.tensors.push_back(std::move(e));
  };
  const int64_t h = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim,
                ff = c.intermediate_size;
  add("model.embed_tokens.weight", {c.vocab_size, h});
  for (int l = 0; l < c.num_layers; ++l) {
    add(layer_weight(l, "input_layernorm.weight"), {h});
    add(layer_weight(l, "self_attn.q_proj.weight"), {q, h});
    add(layer_weight(l, "self_attn.k_proj.weight"), {kv, h});
    add(layer_weight(l, "self_attn.v_proj.weight"), {kv, h});
    if (c.attention_bias) {
      add(layer_weight(l, "self_attn.q_proj.bias"), {q});
      add(layer_weight(l, "self_attn.k_proj.bias"), {kv});
      add(layer_weight(l, "self_attn.v_proj.bias"), {kv});
    }
    if (c.qk_norm) {
      add(layer_weight(l, "self_attn.q_norm.weight"), {c.head_dim});
      add(layer_weight(l, "self_attn.k_norm.weight"), {c.head_dim});
    }
    add(layer_weight(l, "self_attn.o_proj.weight"), {h, q});
    add(layer_weight(l, "post_attention_layernorm.weight"), {h});
    add(layer_weight(l, "mlp.gate_proj.weight"), {ff, h});
    add(layer_weight(l, "mlp.up_proj.weight"), {ff, h});
    add(layer_weight(l, "mlp.down_proj.weight"), {h, ff});
  }
  add("model.norm.weight", {h});
  if (!tied) add("lm_head.weight", {c.vocab_size, h});

  VocabSpec& v = b.em.vocab;
  for (int i = 0; i < c.vocab_size; ++i) v.tokens.push_back("tok" + std::to_string(i));
  v.tokens[3] = "\xe2\x96\x81hello";
  if (arch == Arch::Qwen2 || arch == Arch::Qwen3) {
    v.kind = VocabSpec::Kind::Gpt2Bpe;
    v.merges = {"t o", "to k"};
    v.pre = "qwen2";
    v.add_bos = false;
    v.add_space_prefix = false;
  } else {
    for (int i = 0; i < c.vocab_size; ++i) v.scores.push_back(-float(i) * 0.5f);
  }
  v.token_types.assign(size_t(c.vocab_size), 1);
  v.token_types[1] = v.token_types[2] = 3;
  v.bos_id = 1;
  v.eos_id = 2;
  v.unk_id = 0;
  v.pad_id = 10;
  v.add_eos = true;
  b.em.chat_template = "{{ messages[0]['content'] }}";
  return b;
}

float rounded(float x, DType dt) {
  if (dt == DType::F16) return f16_to_f32(f32_to_f16(x));
  if (dt == DType::BF16) return bf16_to_f32(f32_to_bf16(x));
  return x;
}

void expect_round_trip(const Built& b, DType dt, Arch expect_arch) {
  test::TempDir tmp;
  std::string path = tmp.file("m.gguf");
  write_gguf(b.em, path, dt);
  Model m = load_gguf(path);
  const ModelConfig &w = b.em.config, &g = m.config;
  EXPECT_EQ(g.arch, expect_arch);
  EXPECT_EQ(g.vocab_size, w.vocab_size);
  EXPECT_EQ(g.hidden_size, w.hidden_size);
  EXPECT_EQ(g.intermediate_size, w.intermediate_size);
  EXPECT_EQ(g.num_layers, w.num_layers);
  EXPECT_EQ(g.num_heads, w.num_heads);
  EXPECT_EQ(g.num_kv_heads, w.num_kv_heads);
  EXPECT_EQ(g.head_dim, w.head_dim);
  EXPECT_EQ(g.max_position_embeddings, w.max_position_embeddings);
  EXPECT_EQ(g.rms_norm_eps, w.rms_norm_eps);
  EXPECT_EQ(g.rope_theta, w.rope_theta);
  EXPECT_EQ(g.rope_scaling.type, w.rope_scaling.type);
  EXPECT_EQ(g.rope_scaling.factor, w.rope_scaling.factor);
  EXPECT_EQ(g.tie_word_embeddings, w.tie_word_embeddings);
  EXPECT_EQ(g.attention_bias, w.attention_bias);
  EXPECT_EQ(g.qk_norm, w.qk_norm);
  EXPECT_EQ(g.bos_token_id, w.bos_token_id);
  EXPECT_EQ(g.eos_token_ids, w.eos_token_ids);
  EXPECT_EQ(m.chat_template, b.em.chat_template);
  ASSERT_TRUE(m.vocab);
  const VocabSpec &vw = b.em.vocab, &vg = *m.vocab;
  EXPECT_EQ(vg.kind, vw.kind);
  EXPECT_EQ(vg.tokens, vw.tokens);
  EXPECT_EQ(vg.scores, vw.scores);
  EXPECT_EQ(vg.token_types, vw.token_types);
  EXPECT_EQ(vg.merges, vw.merges);
  EXPECT_EQ(vg.pre, vw.pre);
  EXPECT_EQ(vg.bos_id, vw.bos_id);
  EXPECT_EQ(vg.eos_id, vw.eos_id);
  EXPECT_EQ(vg.unk_id, vw.unk_id);
  EXPECT_EQ(vg.pad_id, vw.pad_id);
  EXPECT_EQ(vg.add_bos, vw.add_bos);
  EXPECT_EQ(vg.add_eos, vw.add_eos);
  EXPECT_EQ(vg.add_space_prefix, vw.add_space_prefix);

  EXPECT_EQ(m.weights.size(), b.values.size());
  for (const auto& [name, vals] : b.values) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(m.has(name));
    const Tensor& t = m.weight(name);
    const bool one_d = t.shape.size() == 1;
    EXPECT_EQ(t.dtype, one_d ? DType::F32 : dt);  // norms and biases always F32
    std::vector<float> got = t.to_f32();
    ASSERT_EQ(got.size(), vals->size());
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], one_d ? (*vals)[i] : rounded((*vals)[i], dt)) << "element " << i;
  }
}

TEST(GgufExport, RoundTripQwen2WithBiasesF32) {
  expect_round_trip(make_model(Arch::Qwen2, false, 1), DType::F32, Arch::Qwen2);
}
TEST(GgufExport, RoundTripQwen3QkNormBF16) {
  expect_round_trip(make_model(Arch::Qwen3, true, 2), DType::BF16, Arch::Qwen3);
}
TEST(GgufExport, RoundTripLlamaTiedF16) {
  expect_round_trip(make_model(Arch::Llama, true, 3), DType::F16, Arch::Llama);
}
TEST(GgufExport, RoundTripLlamaUntiedF32WithLinearScaling) {
  Built b = make_model(Arch::Llama, false, 4);
  b.em.config.rope_scaling.type = RopeScaling::Type::Linear;
  b.em.config.rope_scaling.factor = 2.f;
  expect_round_trip(b, DType::F32, Arch::Llama);
}
TEST(GgufExport, MistralIsWrittenAsLlama) {
  Built b = make_model(Arch::Mistral, false, 5);
  expect_round_trip(b, DType::F32, Arch::Llama);
}

// The file itself stores llama Q/K interleaved: raw GGUF row h*d + 2i + j is canonical
// row h*d + j*d/2 + i.
TEST(GgufExport, StoresInterleavedQkForLlamaOnly) {
  for (Arch arch : {Arch::Llama, Arch::Qwen2}) {
    Built b = make_model(arch, true, 6);
    test::TempDir tmp;
    write_gguf(b.em, tmp.file("m.gguf"), DType::F32);
    GgufFile f = GgufFile::open(tmp.file("m.gguf"));
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.get_string("general.architecture"), arch_name(arch));
    const GgufTensorInfo* k = f.find_tensor("blk.1.attn_k.weight");
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->ne, (std::vector<int64_t>{16, 16}));
    const auto& canon = *b.values.at("model.layers.1.self_attn.k_proj.weight");
    const int d = 8, cols = 16;
    for (int h = 0; h < 2; ++h)
      for (int i = 0; i < d / 2; ++i)
        for (int j = 0; j < 2; ++j) {
          int file_row = h * d + 2 * i + j;
          int canon_row = arch == Arch::Llama ? h * d + j * d / 2 + i : file_row;
          float stored;
          std::memcpy(&stored, k->data + 4 * (file_row * cols + 3), 4);
          EXPECT_EQ(stored, canon[size_t(canon_row * cols + 3)]);
        }
    EXPECT_EQ(f.find_tensor("blk.0.attn_norm.weight")->type, ggml::F32);
  }
}

// Llama 3 scaling is stored as rope_freqs.weight; check the divisors against the
// Hugging Face formula (transformers _compute_llama3_parameters: new inv_freq), i.e.
// factor = inv_freq / new_inv_freq.
TEST(GgufExport, Llama3ScalingBecomesRopeFreqs) {
  Built b = make_model(Arch::Llama, true, 7);
  b.em.config.head_dim = 8;
  RopeScaling& s = b.em.config.rope_scaling;
  s.type = RopeScaling::Type::Llama3;
  s.factor = 8.f;
  s.low_freq_factor = 1.f;
  s.high_freq_factor = 4.f;
  s.original_max_position_embeddings = 64;  // small, so the 4 frequencies span all 3 cases
  b.em.config.rope_theta = 10000.f;
  test::TempDir tmp;
  write_gguf(b.em, tmp.file("m.gguf"), DType::F32);
  Model m = load_gguf(tmp.file("m.gguf"));
  EXPECT_EQ(m.config.rope_scaling.type, RopeScaling::Type::None);
  ASSERT_EQ(m.config.rope_freq_factors.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    double inv = 1.0 / std::pow(10000.0, 2.0 * i / 8);
    double wavelen = 2 * M_PI / inv;
    double lo = 64.0 / 1.0, hi = 64.0 / 4.0, scaled;
    if (wavelen < hi) scaled = inv;
    else if (wavelen > lo) scaled = inv / 8;
    else {
      double smooth = (64.0 / wavelen - 1.0) / (4.0 - 1.0);
      scaled = (1 - smooth) * inv / 8 + smooth * inv;
    }
    EXPECT_NEAR(m.config.rope_freq_factors[size_t(i)], inv / scaled, 1e-5) << i;
  }
  EXPECT_EQ(m.config.rope_freq_factors[0], 1.f);
  EXPECT_EQ(m.config.rope_freq_factors[3], 8.f);
  EXPECT_GT(m.config.rope_freq_factors[1], 1.f);
  EXPECT_LT(m.config.rope_freq_factors[1], 8.f);
  // Writing the factors back out keeps them.
  b.em.config.rope_scaling = RopeScaling{};
  b.em.config.rope_freq_factors = m.config.rope_freq_factors;
  write_gguf(b.em, tmp.file("m2.gguf"), DType::F32);
  EXPECT_EQ(load_gguf(tmp.file("m2.gguf")).config.rope_freq_factors, m.config.rope_freq_factors);
}

TEST(GgufExport, Errors) {
  test::TempDir tmp;
  auto err = [&](const Built& b) -> std::string {
    try {
      write_gguf(b.em, tmp.file("x.gguf"), DType::F32);
    } catch (const Error& e) {
      return std::string(e.what()).substr(tmp.file("x.gguf").size());
    }
    return "(no error)";
  };
  Built b = make_model(Arch::Llama, true, 8);
  b.em.tensors[0].name = "model.foo.weight";
  EXPECT_EQ(err(b), ": tensor 'model.foo.weight' has no GGUF name");
  b = make_model(Arch::Llama, true, 8);
  b.em.tensors[2].shape = {30, 16};  // layer 0 q_proj
  EXPECT_EQ(err(b),
            ": tensor 'model.layers.0.self_attn.q_proj.weight' needs 32 rows (4 heads of 8) to be "
            "permuted for GGUF");
  b = make_model(Arch::Llama, true, 8);
  b.em.config.eos_token_ids = {2, 3, 4, 5};
  EXPECT_EQ(err(b), ": GGUF stores at most 3 end-of-generation tokens (eos, eot, eom), got 4");
  b = make_model(Arch::Llama, true, 8);
  b.em.vocab.scores.pop_back();
  EXPECT_EQ(err(b), ": vocabulary has 12 tokens but 11 scores");
  b = make_model(Arch::Llama, true, 8);
  b.em.vocab.pad_id = 12;
  EXPECT_EQ(err(b), ": tokenizer.ggml.padding_token_id 12 is outside the vocabulary of 12 tokens");
  b = make_model(Arch::Llama, true, 8);
  b.em.config.num_heads = 0;
  EXPECT_EQ(err(b), ": num_attention_heads must be positive, got 0");
  EXPECT_THROW(write_gguf(make_model(Arch::Llama, true, 8).em, "/nonexistent-dir/x.gguf",
                          DType::F32),
               Error);
}

}  // namespace
}  // namespace tessera

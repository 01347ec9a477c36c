// CpuEngine against the independent whole-sequence reference (engine_test_models.h), and
// the properties that must hold exactly: GQA equals duplicated-head MHA, stored dtype
// does not matter for equal values, thread count does not matter.
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "test_util.h"
#include "engine/cpu_engine.h"
#include "engine_test_models.h"

using namespace tessera;
using namespace tessera::test;

namespace {

// Runs tokens through the engine one at a time; returns every position's logits.
std::vector<std::vector<float>> engine_logits(const Model& m, const std::vector<int>& tokens,
                                              int threads = 2) {
  CpuEngine e(m, 0, threads);
  std::vector<std::vector<float>> out;
  for (size_t t = 0; t < tokens.size(); ++t) out.push_back(e.forward(tokens[t], int(t)));
  return out;
}

void expect_matches_reference(const Model& m, int n_tokens = 24) {
  auto tokens = random_tokens(n_tokens, m.config.vocab_size, 7);
  Mat want = reference_logits(m, tokens);
  auto got = engine_logits(m, tokens);
  for (int t = 0; t < n_tokens; ++t)
    EXPECT_LE(max_rel_error(got[t], want[t]), 1e-5) << "position " << t;
  // The test would be vacuous if the logits did not depend on the context.
  double spread = 0;
  for (size_t i = 0; i < want[0].size(); ++i)
    spread = std::max(spread, std::abs(want[n_tokens - 1][i] - want[0][i]));
  EXPECT_GT(spread, 0.1);
}

}  // namespace

TEST(CpuEngine, LlamaMatchesWholeSequenceReference) {
  expect_matches_reference(make_model(tiny_config(Arch::Llama), 1));
}

TEST(CpuEngine, LlamaTiedEmbeddingsMatchReference) {
  ModelConfig c = tiny_config(Arch::Llama);
  c.tie_word_embeddings = true;
  Model m = make_model(c, 2);
  ASSERT_FALSE(m.has("lm_head.weight"));
  expect_matches_reference(m);
}

TEST(CpuEngine, Qwen2BiasesMatchReference) {
  expect_matches_reference(make_model(tiny_config(Arch::Qwen2), 3));
}

TEST(CpuEngine, Qwen3QkNormMatchesReference) {
  expect_matches_reference(make_model(tiny_config(Arch::Qwen3), 4));
}

TEST(CpuEngine, Llama3RopeScalingMatchesReference) {
  ModelConfig c = tiny_config(Arch::Llama);
  // head_dim 16, theta 10000: wavelengths 6.3, 19.9, 62.8, ... against 32/4 = 8 and 32/1 = 32
  // exercise all three branches (kept, smoothed, divided).
  c.rope_scaling.type = RopeScaling::Type::Llama3;
  c.rope_scaling.factor = 4.f;
  c.rope_scaling.low_freq_factor = 1.f;
  c.rope_scaling.high_freq_factor = 4.f;
  c.rope_scaling.original_max_position_embeddings = 32;
  expect_matches_reference(make_model(c, 5), 40);
}

TEST(CpuEngine, LinearRopeScalingMatchesReference) {
  ModelConfig c = tiny_config(Arch::Llama);
  c.rope_scaling.type = RopeScaling::Type::Linear;
  c.rope_scaling.factor = 2.5f;
  expect_matches_reference(make_model(c, 6));
}

TEST(CpuEngine, RopeFreqFactorsMatchReference) {
  ModelConfig c = tiny_config(Arch::Llama);
  c.rope_freq_factors = {1, 1, 1.5f, 2, 4, 8, 8, 8};
  expect_matches_reference(make_model(c, 7));
}

TEST(CpuEngine, MultiQueryAttentionMatchesReference) {
  ModelConfig c = tiny_config(Arch::Mistral);
  c.num_kv_heads = 1;
  expect_matches_reference(make_model(c, 8));
}

TEST(CpuEngine, GroupedQueryEqualsMhaWithDuplicatedKvHeads) {
  for (Arch arch : {Arch::Llama, Arch::Qwen2}) {
    ModelConfig gc = tiny_config(arch);  // 4 heads, 2 kv heads: query head h uses kv h/2
    Model gqa = make_model(gc, 9);
    ModelConfig mc = gc;
    mc.num_kv_heads = gc.num_heads;
    Model mha = gqa;
    mha.config = mc;
    const int hd = gc.head_dim, group = gc.num_heads / gc.num_kv_heads;
    for (int l = 0; l < gc.num_layers; ++l) {
      for (const char* proj : {"self_attn.k_proj.", "self_attn.v_proj."}) {
        for (const char* kind : {"weight", "bias"}) {
          std::string name = layer_weight(l, (std::string(proj) + kind).c_str());
          if (!gqa.has(name)) continue;
          const Tensor& t = gqa.weight(name);
          std::vector<float> src = t.to_f32(), dst;
          const int64_t cols = t.shape.size() == 2 ? t.dim(1) : 1;
          for (int h = 0; h < mc.num_heads; ++h) {
            const int g = h / group;
            dst.insert(dst.end(), src.begin() + int64_t(g) * hd * cols,
                       src.begin() + int64_t(g + 1) * hd * cols);
          }
          std::vector<int64_t> shape = t.shape;
          shape[0] = int64_t(mc.num_heads) * hd;
          mha.weights[name] = Tensor::owned_f32(shape, dst);
        }
      }
    }
    mha.validate();
    auto tokens = random_tokens(16, gc.vocab_size, 10);
    auto a = engine_logits(gqa, tokens), b = engine_logits(mha, tokens);
    for (size_t t = 0; t < tokens.size(); ++t)
      for (size_t i = 0; i < a[t].size(); ++i)
        ASSERT_EQ(a[t][i], b[t][i]) << arch_name(arch) << " position " << t << " logit " << i;
  }
}

TEST(CpuEngine, Bf16AndF16WeightsEqualSameValuesStoredAsF32) {
  for (DType dt : {DType::BF16, DType::F16}) {
    ModelConfig c = tiny_config(Arch::Qwen2);
    Model narrow = make_model(c, 11, dt, dt);
    Model wide = make_model(c, 11, DType::F32, dt);
    ASSERT_EQ(narrow.weight("model.layers.0.mlp.up_proj.weight").dtype, dt);
    auto tokens = random_tokens(12, c.vocab_size, 12);
    auto a = engine_logits(narrow, tokens), b = engine_logits(wide, tokens);
    for (size_t t = 0; t < tokens.size(); ++t)
      ASSERT_EQ(0, std::memcmp(a[t].data(), b[t].data(), a[t].size() * 4))
          << dtype_name(dt) << " position " << t;
    // And the narrow model still computes the right function.
    Mat want = reference_logits(narrow, tokens);
    EXPECT_LE(max_rel_error(a.back(), want.back()), 1e-5) << dtype_name(dt);
  }
}

TEST(CpuEngine, LogitsAreBitIdenticalForAnyThreadCount) {
  ModelConfig c = tiny_config(Arch::Qwen3);
  c.vocab_size = 1000;  // enough rows that every thread gets an uneven share
  c.intermediate_size = 100;
  Model m = make_model(c, 13);
  auto tokens = random_tokens(20, c.vocab_size, 14);
  auto one = engine_logits(m, tokens, 1);
  for (int threads : {3, 4}) {
    auto many = engine_logits(m, tokens, threads);
    for (size_t t = 0; t < tokens.size(); ++t)
      ASSERT_EQ(0, std::memcmp(one[t].data(), many[t].data(), one[t].size() * 4))
          << threads << " threads, position " << t;
  }
}

TEST(CpuEngine, ResetStartsOverWithTheSameResults) {
  Model m = make_model(tiny_config(), 15);
  CpuEngine e(m, 0, 2);
  auto tokens = random_tokens(6, 128, 16);
  std::vector<float> first;
  for (int t = 0; t < 6; ++t) first = e.forward(tokens[t], t);
  EXPECT_EQ(e.position(), 6);
  e.reset();
  EXPECT_EQ(e.position(), 0);
  std::vector<float> again;
  for (int t = 0; t < 6; ++t) again = e.forward(tokens[t], t);
  EXPECT_EQ(first, again);
}

TEST(CpuEngine, CapacityDefaultsToMaxPositionsCappedAt4096) {
  ModelConfig c = tiny_config();
  c.max_position_embeddings = 100;
  Model small = make_model(c, 17);
  EXPECT_EQ(CpuEngine(small, 0, 1).capacity(), 100);
  EXPECT_EQ(CpuEngine(small, 7, 1).capacity(), 7);
  c.max_position_embeddings = 131072;
  Model big = make_model(c, 17);
  EXPECT_EQ(CpuEngine(big, 0, 1).capacity(), 4096);
}

// ---- diagnostics ----

using test::error_of;

TEST(CpuEngineErrors, TokenOutsideVocabulary) {
  Model m = make_model(tiny_config(), 18);
  CpuEngine e(m, 0, 1);
  EXPECT_EQ(error_of([&] { e.forward(128, 0); }),
            "token id 128 is outside the vocabulary of 128 tokens");
  EXPECT_EQ(error_of([&] { e.forward(-1, 0); }),
            "token id -1 is outside the vocabulary of 128 tokens");
  EXPECT_EQ(e.position(), 0);  // a rejected call changes nothing
  e.forward(127, 0);
}

TEST(CpuEngineErrors, PositionOutOfOrder) {
  Model m = make_model(tiny_config(), 19);
  CpuEngine e(m, 0, 1);
  EXPECT_EQ(error_of([&] { e.forward(3, 1); }),
            "position 1 is out of order: the engine expects position 0 next");
  e.forward(3, 0);
  EXPECT_EQ(error_of([&] { e.forward(3, 0); }),
            "position 0 is out of order: the engine expects position 1 next");
}

TEST(CpuEngineErrors, PositionBeyondContext) {
  Model m = make_model(tiny_config(), 20);
  CpuEngine e(m, 3, 1);
  for (int t = 0; t < 3; ++t) e.forward(5, t);
  EXPECT_EQ(error_of([&] { e.forward(5, 3); }), "position 3 exceeds the context of 3 tokens");
}

TEST(CpuEngineErrors, BadConstructorArguments) {
  Model m = make_model(tiny_config(), 21);
  EXPECT_EQ(error_of([&] { CpuEngine(m, -5, 1); }),
            "tiny-test-model: --max-seq-len must be non-negative, got -5");
  EXPECT_EQ(error_of([&] { CpuEngine(m, 0, -2); }), "--threads must be non-negative, got -2");
}

TEST(CpuEngineErrors, InvalidModelIsRejected) {
  Model m = make_model(tiny_config(), 22);
  m.weights.erase("model.layers.1.mlp.up_proj.weight");
  EXPECT_EQ(error_of([&] { CpuEngine(m, 0, 1); }),
            "tiny-test-model: missing weight 'model.layers.1.mlp.up_proj.weight'");
}

TEST(CpuEngineErrors, HugeContextIsRefusedNotCrashed) {
  ModelConfig c = tiny_config();
  Model m = make_model(c, 23);
  std::string msg = error_of([&] { CpuEngine(m, 2147483647, 1); });
  // 2 layers * 2^31 tokens * 32 floats * 2 = 1 TiB: refused with the size named.
  EXPECT_NE(msg.find("tiny-test-model: the KV cache for 2147483647 tokens needs 1024.0 GiB, "
                     "more than this machine's "),
            std::string::npos)
      << msg;
}

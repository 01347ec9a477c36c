// Rotary embeddings: the inverse frequencies against numbers produced by transformers
// itself, and the defining property of RoPE (scores depend only on relative position).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "engine/rope.h"

using namespace tessera;

namespace {

ModelConfig llama32_1b_rope() {
  ModelConfig c;
  c.head_dim = 64;
  c.rope_theta = 500000.f;
  c.rope_scaling.type = RopeScaling::Type::Llama3;
  c.rope_scaling.factor = 32.f;
  c.rope_scaling.low_freq_factor = 1.f;
  c.rope_scaling.high_freq_factor = 4.f;
  c.rope_scaling.original_max_position_embeddings = 8192;
  return c;
}

}  // namespace

// Llama-3.2-1B's rope settings. Values from transformers 5.23 itself (fp32, CPU):
//   cfg = LlamaConfig(hidden_size=2048, num_attention_heads=32, head_dim=64,
//     rope_theta=500000.0, max_position_embeddings=131072, rope_scaling={"rope_type":
//     "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
//     "original_max_position_embeddings": 8192})
//   inv, _ = transformers.modeling_rope_utils.ROPE_INIT_FUNCTIONS["llama3"](cfg, "cpu")
//   print([float(v).hex() for v in inv])
// rope.cpp repeats transformers' fp32 operation order, so they agree bit for bit.
TEST(Rope, Llama3InvFreqEqualsTransformers) {
  const float want[32] = {
      0x1.0000000000000p+0f, 0x1.53c38c0000000p-1f, 0x1.c2ef780000000p-2f, 0x1.2b3dc60000000p-2f,
      0x1.8d27600000000p-3f, 0x1.078d400000000p-3f, 0x1.5dc95a0000000p-4f, 0x1.d03cce0000000p-5f,
      0x1.3411900000000p-5f, 0x1.98de920000000p-6f, 0x1.0f53860000000p-6f, 0x1.681ada0000000p-7f,
      0x1.ddee9e0000000p-8f, 0x1.3d28040000000p-8f, 0x1.a4ee400000000p-9f, 0x1.524f360000000p-10f,
      0x1.c26c400000000p-12f, 0x1.9731ee0000000p-14f, 0x1.46831a0000000p-16f, 0x1.b159020000000p-17f,
      0x1.1f91f00000000p-17f, 0x1.7da9e80000000p-18f, 0x1.fa8b860000000p-19f, 0x1.5024d60000000p-19f,
      0x1.be21880000000p-20f, 0x1.280d960000000p-20f, 0x1.88ec200000000p-21f, 0x1.04be680000000p-21f,
      0x1.5a0f4e0000000p-22f, 0x1.cb4a9a0000000p-23f, 0x1.30c94e0000000p-23f, 0x1.9483600000000p-24f,
  };
  std::vector<float> got = rope_inv_freq(llama32_1b_rope(), "test");
  ASSERT_EQ(got.size(), 32u);
  for (int i = 0; i < 32; ++i)
    EXPECT_EQ(got[i], want[i]) << "inv_freq[" << i << "]";
}

TEST(Rope, UnscaledAndLinearInvFreq) {
  ModelConfig c;
  c.head_dim = 8;
  c.rope_theta = 10000.f;
  std::vector<float> inv = rope_inv_freq(c, "test");
  const double want[4] = {1.0, 0.1, 0.01, 0.001};  // 10000^(-2i/8)
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(inv[i], want[i], want[i] * 1e-7);
  c.rope_scaling.type = RopeScaling::Type::Linear;
  c.rope_scaling.factor = 4.f;
  std::vector<float> lin = rope_inv_freq(c, "test");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(lin[i], inv[i] / 4.f);
  c.rope_scaling.type = RopeScaling::Type::None;
  c.rope_freq_factors = {1.f, 2.f, 4.f, 8.f};
  std::vector<float> ff = rope_inv_freq(c, "test");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(ff[i], inv[i] / c.rope_freq_factors[i]);
}

// <R(m) q, R(n) k> = <R(m+s) q, R(n+s) k>: attention sees only relative positions.
TEST(Rope, ScoresDependOnlyOnRelativePosition) {
  ModelConfig c = llama32_1b_rope();
  std::vector<float> inv = rope_inv_freq(c, "test");
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  std::vector<float> q(64), k(64);
  for (auto& v : q) v = nd(rng);
  for (auto& v : k) v = nd(rng);
  auto score = [&](int m, int n) {
    std::vector<float> qr = q, kr = k, cq(32), sq(32), ck(32), sk(32);
    rope_cos_sin(inv, m, cq.data(), sq.data());
    rope_cos_sin(inv, n, ck.data(), sk.data());
    apply_rope(qr.data(), 64, cq.data(), sq.data());
    apply_rope(kr.data(), 64, ck.data(), sk.data());
    double s = 0;
    for (int i = 0; i < 64; ++i) s += double(qr[i]) * kr[i];
    return s;
  };
  double norm = 0;
  for (int i = 0; i < 64; ++i) norm += std::abs(double(q[i]) * k[i]);
  for (auto [m, n] : {std::pair{5, 2}, std::pair{17, 17}, std::pair{100, 3}}) {
    const double base = score(m, n);
    for (int shift : {1, 7, 250}) {
      // fp32 angles of positions ~ 350 carry ~ 350 * 2^-24 rad of error.
      EXPECT_NEAR(score(m + shift, n + shift), base, 2e-4 * norm)
          << "m=" << m << " n=" << n << " shift=" << shift;
    }
  }
  // And it is not trivially constant: a different distance changes the score.
  EXPECT_GT(std::abs(score(5, 2) - score(5, 4)), 1e-3 * norm);
}

TEST(Rope, RotationPreservesNormAndPairsHalves) {
  std::vector<float> inv = {0.5f, 0.25f};
  std::vector<float> x = {1, 0, 0, 0}, cs(2), sn(2);
  rope_cos_sin(inv, 2, cs.data(), sn.data());  // angles 1.0 and 0.5
  apply_rope(x.data(), 4, cs.data(), sn.data());
  // Element 0 pairs with element 2 (rotate-half), not with element 1 (interleaved).
  EXPECT_FLOAT_EQ(x[0], std::cos(1.f));
  EXPECT_FLOAT_EQ(x[1], 0.f);
  EXPECT_FLOAT_EQ(x[2], std::sin(1.f));
  EXPECT_FLOAT_EQ(x[3], 0.f);
}

TEST(RopeErrors, FreqFactorsOfWrongLength) {
  ModelConfig c;
  c.head_dim = 8;
  c.rope_freq_factors = {1.f, 2.f};
  try {
    rope_inv_freq(c, "m.gguf");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "m.gguf: rope_freq_factors has 2 entries, expected head_dim/2 = 4");
  }
}

TEST(RopeErrors, FreqFactorNotPositive) {
  ModelConfig c;
  c.head_dim = 4;
  c.rope_freq_factors = {1.f, 0.f};
  try {
    rope_inv_freq(c, "m.gguf");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "m.gguf: rope_freq_factors[1] is 0, expected a positive finite number");
  }
}

TEST(RopeErrors, FreqFactorsWithRopeScaling) {
  ModelConfig c;
  c.head_dim = 4;
  c.rope_freq_factors = {1.f, 2.f};
  c.rope_scaling.type = RopeScaling::Type::Linear;
  c.rope_scaling.factor = 2.f;
  try {
    rope_inv_freq(c, "m.gguf");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "m.gguf: rope_freq_factors and rope_scaling are both set (the factors already "
                 "include the scaling)");
  }
}

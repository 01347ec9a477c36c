// Dequantisation against gguf-py's numpy reference (tests/data/gguf/dequant.gguf, made by
// tools/make_gguf_fixtures.py) with exact equality: both sides round once per float32
// operation in the same order, so any difference is a layout or arithmetic bug. Real
// tensors of the SmolLM2 GGUF are checked against values printed by gguf-py.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "model/gguf_dequant.h"
#include "model/gguf_reader.h"
#include "test_util.h"

namespace tessera {
namespace {

std::vector<float> dequant_tensor(const GgufFile& f, const std::string& name) {
  const GgufTensorInfo* t = f.find_tensor(name);
  if (!t) throw std::runtime_error("no tensor " + name);
  std::vector<float> out(size_t(t->numel));
  dequantize(t->type, t->data, t->numel, out.data(), name);
  return out;
}

TEST(GgufDequant, MatchesGgufPyBitForBit) {
  GgufFile f = GgufFile::open(std::string(TESSERA_SOURCE_DIR) + "/tests/data/gguf/dequant.gguf");
  const char* types[] = {"F16",  "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
                         "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"};
  for (const char* type : types) {
    SCOPED_TRACE(type);
    const GgufTensorInfo* q = f.find_tensor(std::string("q.") + type);
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(ggml_type_name(q->type), type);
    std::vector<float> got = dequant_tensor(f, std::string("q.") + type);
    std::vector<float> want = dequant_tensor(f, std::string("ref.") + type);
    ASSERT_EQ(got.size(), want.size());
    ASSERT_GE(got.size(), 64u);
    size_t mismatches = 0;
    for (size_t i = 0; i < got.size(); ++i)
      if (std::memcmp(&got[i], &want[i], 4) != 0 && mismatches++ < 5)
        ADD_FAILURE() << "element " << i << ": got " << got[i] << ", gguf-py " << want[i];
    EXPECT_EQ(mismatches, 0u);
  }
}

TEST(GgufDequant, Q8KByHand) {
  // gguf-py has no Q8_K dequantiser; the layout is fp32 d, int8 qs[256], int16 bsums[16].
  std::vector<uint8_t> block(292, 0);
  float d = 0.5f;
  std::memcpy(block.data(), &d, 4);
  for (int i = 0; i < 256; ++i) block[4 + i] = uint8_t(int8_t(i - 128));
  std::vector<float> out(256);
  dequantize(ggml::Q8_K, block.data(), 256, out.data(), "t");
  EXPECT_EQ(out[0], -64.f);
  EXPECT_EQ(out[128], 0.f);
  EXPECT_EQ(out[255], 63.5f);
}

TEST(GgufDequant, UnsupportedTypeNamesTensorAndType) {
  std::vector<uint8_t> block(66, 0);
  std::vector<float> out(256);
  try {
    dequantize(16, block.data(), 256, out.data(), "m.gguf: tensor 'blk.0.attn_q.weight'");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "m.gguf: tensor 'blk.0.attn_q.weight': ggml type IQ2_XXS is not supported "
              "(supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, "
              "Q5_K, Q6_K, Q8_K)");
  }
  EXPECT_FALSE(ggml_can_dequantize(35));  // TQ2_0
  EXPECT_TRUE(ggml_can_dequantize(ggml::Q6_K));
}

double row_sum(const std::vector<float>& v, int64_t row, int64_t cols) {
  double s = 0;
  for (int64_t c = 0; c < cols; ++c) s += v[size_t(row * cols + c)];
  return s;
}

TEST(GgufDequant, SmolLM2RealTensors) {
  auto path = test::smollm2_gguf();
  if (!path) GTEST_SKIP() << "SmolLM2-135M-Instruct.Q4_1.gguf not found";
  GgufFile f = GgufFile::open(*path);
  // Expected values printed by gguf-py 0.19.0:
  //   gguf.quants.dequantize(t.data, t.tensor_type) for the named tensor (numpy layout
  //   [rows, cols] = reversed ne), sums in float64.
  const GgufTensorInfo* e = f.find_tensor("token_embd.weight");
  ASSERT_EQ(e->type, ggml::Q8_0);
  std::vector<float> emb = dequant_tensor(f, "token_embd.weight");
  const float emb_row1[8] = {-0.0238037109375f, -0.015869140625f, -0.0396728515625f,
                             0.015869140625f,   -0.111083984375f, -0.0079345703125f,
                             -0.0634765625f,    0.0714111328125f};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(emb[576 + i], emb_row1[i]) << i;
  EXPECT_NEAR(row_sum(emb, 1, 576), 0.35922718048095703, 1e-9);
  EXPECT_NEAR(row_sum(emb, 49151, 576), -0.4662208557128906, 1e-9);

  const GgufTensorInfo* dn = f.find_tensor("blk.29.ffn_down.weight");
  ASSERT_EQ(dn->type, ggml::Q4_1);
  std::vector<float> down = dequant_tensor(f, "blk.29.ffn_down.weight");
  const float down_row575[8] = {-0.22918701171875f,  -0.03912353515625f, -0.276702880859375f,
                                0.2459716796875f,    0.008392333984375f, -0.03912353515625f,
                                0.055908203125f,     0.15093994140625f};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(down[575 * 1536 + i], down_row575[i]) << i;
  EXPECT_NEAR(row_sum(down, 575, 1536), -5.229949951171875, 1e-9);
}

}  // namespace
}  // namespace tessera

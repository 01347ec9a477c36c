// tensor_to_bf16 (core/bf16_convert.h), the one weight conversion the GPU backends share:
// every element equals f32_to_bf16 of the element's fp32 value, for each stored dtype and
// across the boundary of the conversion's internal chunks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "core/bf16_convert.h"
#include "core/dtype.h"
#include "core/tensor.h"

namespace tessera {
namespace {

TEST(Bf16Convert, F32AcrossChunksMatchesScalarRounding) {
  const int64_t n = (int64_t(1) << 20) + 37;  // one full chunk and a partial one
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.f, 3.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = normal(rng);
  // Ties to even, both directions, and the special values, placed in both chunks.
  const float specials[] = {1.00390625f /* 1 + 2^-8: tie, rounds down */, 1.01171875f /* tie, rounds up */,
                            std::numeric_limits<float>::infinity(), -0.f,
                            std::numeric_limits<float>::quiet_NaN(), 3.0e38f};
  for (size_t i = 0; i < std::size(specials); ++i) {
    v[i] = specials[i];
    v[size_t(n) - 1 - i] = specials[i];
  }
  const Tensor t = Tensor::owned_f32({n}, v);
  std::vector<uint16_t> out(size_t(n), 0xffff);
  tensor_to_bf16(t, out.data());
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out[size_t(i)], f32_to_bf16(v[size_t(i)])) << "element " << i;
  EXPECT_EQ(out[0], 0x3f80);  // the tie went to the even neighbour, 1.0
  EXPECT_EQ(out[1], 0x3f82);
}

TEST(Bf16Convert, F16AndBf16Tensors) {
  std::vector<uint16_t> halves = {0x3c00, 0xc000, 0x0001 /* subnormal */, 0x7bff /* 65504 */, 0x3555};
  std::vector<uint8_t> bytes(halves.size() * 2);
  std::memcpy(bytes.data(), halves.data(), bytes.size());
  const Tensor f16 = Tensor::owned_bytes(DType::F16, {int64_t(halves.size())}, bytes);
  std::vector<uint16_t> out(halves.size());
  tensor_to_bf16(f16, out.data());
  for (size_t i = 0; i < halves.size(); ++i) EXPECT_EQ(out[i], f32_to_bf16(f16_to_f32(halves[i]))) << i;

  std::vector<uint16_t> b16 = {0x3f80, 0xbf81, 0x0001, 0x7f7f};
  std::memcpy(bytes.data(), b16.data(), b16.size() * 2);
  bytes.resize(b16.size() * 2);
  const Tensor bf = Tensor::owned_bytes(DType::BF16, {2, 2}, bytes);
  out.assign(b16.size(), 0);
  tensor_to_bf16(bf, out.data());
  EXPECT_EQ(out, b16);  // bf16 weights pass through unchanged
}

}  // namespace
}  // namespace tessera

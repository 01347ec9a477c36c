#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/dtype.h"

using namespace tessera;

TEST(DType, Bf16RoundTripIsExactForBf16Values) {
  std::mt19937 rng(1);
  for (int i = 0; i < 100000; ++i) {
    uint16_t h = uint16_t(rng());
    float f = bf16_to_f32(h);
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_bf16(f), h) << "bits " << h;
  }
}

TEST(DType, F16RoundTripIsExactForF16Values) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = f16_to_f32(uint16_t(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_f16(f), uint16_t(h)) << "bits " << h;
  }
}

TEST(DType, F16RoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and 1+2^-10: ties to even (1.0).
  EXPECT_EQ(f16_to_f32(f32_to_f16(1.f + std::ldexp(1.f, -11))), 1.f);
  EXPECT_EQ(f16_to_f32(f32_to_f16(1.f + 3 * std::ldexp(1.f, -11))), 1.f + 2 * std::ldexp(1.f, -10));
  EXPECT_TRUE(std::isinf(f16_to_f32(f32_to_f16(70000.f))));
  EXPECT_EQ(f16_to_f32(f32_to_f16(std::ldexp(1.f, -24))), std::ldexp(1.f, -24));
  EXPECT_EQ(f16_to_f32(f32_to_f16(std::ldexp(1.f, -26))), 0.f);
}

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.f + std::ldexp(1.f, -8))), 1.f);
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.f + 3 * std::ldexp(1.f, -8))), 1.f + std::ldexp(1.f, -6));
}

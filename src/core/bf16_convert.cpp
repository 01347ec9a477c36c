// See bf16_convert.h.
#include "core/bf16_convert.h"

#include <algorithm>
#include <vector>

namespace tessera {

void tensor_to_bf16(const Tensor& t, uint16_t* dst) {
  const int64_t n = t.numel();
  constexpr int64_t kChunk = 1 << 20;
  std::vector<float> f(size_t(std::min(n, kChunk)));
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t m = std::min(kChunk, n - i);
    t.to_f32(i, m, f.data());
    for (int64_t k = 0; k < m; ++k) dst[i + k] = f32_to_bf16(f[size_t(k)]);
  }
}

}  // namespace tessera

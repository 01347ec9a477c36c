#include "model/rotary_layout.h"

#include <cstring>

#include "core/error.h"

namespace tessera {

void permute_qk_rows(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t row_bytes,
                     int64_t head_dim, bool to_hf) {
  TS_CHECK(head_dim > 0 && head_dim % 2 == 0 && rows % head_dim == 0,
           "{} rows in heads of {}", rows, head_dim);
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < rows / head_dim; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t gguf_row = h * head_dim + 2 * i + j;
        const int64_t hf_row = h * head_dim + j * half + i;
        const int64_t from = to_hf ? gguf_row : hf_row, to = to_hf ? hf_row : gguf_row;
        std::memcpy(dst + to * row_bytes, src + from * row_bytes, size_t(row_bytes));
      }
}

}  // namespace tessera

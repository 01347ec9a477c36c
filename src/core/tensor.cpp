#include "core/tensor.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"

namespace tessera {

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

float Tensor::at(int64_t i) const {
  switch (dtype) {
    case DType::F32: return static_cast<const float*>(data)[i];
    case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(data)[i]);
    case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(data)[i]);
  }
  return 0.f;
}

void Tensor::to_f32(int64_t begin, int64_t n, float* out) const {
  TS_CHECK(begin >= 0 && begin + n <= numel(), "range [{}, {}) outside tensor of {} elements",
           begin, begin + n, numel());
  switch (dtype) {
    case DType::F32: {
      const float* p = static_cast<const float*>(data) + begin;
      for (int64_t i = 0; i < n; ++i) out[i] = p[i];
      break;
    }
    case DType::F16: {
      const uint16_t* p = static_cast<const uint16_t*>(data) + begin;
      for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(p[i]);
      break;
    }
    case DType::BF16: {
      const uint16_t* p = static_cast<const uint16_t*>(data) + begin;
      for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(p[i]);
      break;
    }
  }
}

std::vector<float> Tensor::to_f32() const {
  std::vector<float> v(static_cast<size_t>(numel()));
  to_f32(0, numel(), v.data());
  return v;
}

std::string Tensor::shape_str() const { return fmt::format("[{}]", fmt::join(shape, ", ")); }

Tensor Tensor::owned_f32(std::vector<int64_t> shape, std::vector<float> values) {
  Tensor t;
  t.dtype = DType::F32;
  t.shape = std::move(shape);
  TS_CHECK(int64_t(values.size()) == t.numel(), "{} values for shape {}", values.size(),
           t.shape_str());
  auto buf = std::make_shared<std::vector<float>>(std::move(values));
  t.data = buf->data();
  t.owner = buf;
  return t;
}

Tensor Tensor::owned_bytes(DType dtype, std::vector<int64_t> shape, std::vector<uint8_t> bytes) {
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  TS_CHECK(bytes.size() == t.nbytes(), "{} bytes for {} tensor of shape {}", bytes.size(),
           dtype_name(dtype), t.shape_str());
  auto buf = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  t.data = buf->data();
  t.owner = buf;
  return t;
}

Tensor Tensor::view(DType dtype, std::vector<int64_t> shape, const void* data,
                    std::shared_ptr<const void> owner) {
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.data = data;
  t.owner = std::move(owner);
  return t;
}

}  // namespace tessera

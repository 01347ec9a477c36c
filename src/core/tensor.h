// A weight tensor: a dtype, a row-major shape (PyTorch order: [out, in] for a linear
// weight) and a pointer to its elements. The bytes are either a view into a memory-mapped
// model file (safetensors, GGUF F32/F16/BF16, llama2.c) or a buffer owned by the tensor
// (dequantised GGUF blocks, permuted Q/K rows). `owner` keeps whichever alive, so tensors
// can be copied freely without copying their data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace tessera {

struct Tensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  std::shared_ptr<const void> owner;

  int64_t numel() const;
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype); }
  int64_t dim(size_t i) const { return shape.at(i); }
  // Element i (flat index) as fp32.
  float at(int64_t i) const;
  // Copies elements [begin, begin+n) to out as fp32.
  void to_f32(int64_t begin, int64_t n, float* out) const;
  std::vector<float> to_f32() const;
  std::string shape_str() const;  // e.g. "[576, 64]"

  // A tensor owning a fresh fp32 buffer.
  static Tensor owned_f32(std::vector<int64_t> shape, std::vector<float> values);
  // A tensor owning a copy of raw bytes of the given dtype.
  static Tensor owned_bytes(DType dtype, std::vector<int64_t> shape, std::vector<uint8_t> bytes);
  // A view into memory kept alive by owner.
  static Tensor view(DType dtype, std::vector<int64_t> shape, const void* data,
                     std::shared_ptr<const void> owner);
};

}  // namespace tessera

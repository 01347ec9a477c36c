// Dot products use eight independent partial sums combined in a fixed tree: the compiler
// can keep them in one vector register without -ffast-math, and the order is still a
// pure function of the length. F16 goes through a 64K-entry table because the bit-exact
// scalar conversion is branchy and would dominate the inner loop.
#include "engine/kernels_cpu.h"

#include <array>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace tessera {

namespace {

const float* f16_table() {
  static const std::array<float, 65536>* table = [] {
    auto* t = new std::array<float, 65536>;
    for (uint32_t h = 0; h < 65536; ++h) (*t)[h] = f16_to_f32(uint16_t(h));
    return t;
  }();
  return table->data();
}

struct LoadF32 {
  const float* p;
  float operator()(int64_t i) const { return p[i]; }
};
struct LoadBF16 {
  const uint16_t* p;
  float operator()(int64_t i) const { return bf16_to_f32(p[i]); }
};
struct LoadF16 {
  const uint16_t* p;
  const float* table;
  float operator()(int64_t i) const { return table[p[i]]; }
};

template <typename Load>
float dot(Load w, const float* x, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) acc[l] += w(j + l) * x[j + l];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; j < n; ++j) s += w(j) * x[j];
  return s;
}

}  // namespace

float dot_f32(const float* w, const float* x, int64_t n) { return dot(LoadF32{w}, x, n); }
float dot_bf16(const uint16_t* w, const float* x, int64_t n) { return dot(LoadBF16{w}, x, n); }

float dot_row(const Tensor& w, int64_t row, const float* x) {
  const int64_t cols = w.dim(1);
  const int64_t off = row * cols;
  switch (w.dtype) {
    case DType::F32: return dot(LoadF32{static_cast<const float*>(w.data) + off}, x, cols);
    case DType::BF16: return dot(LoadBF16{static_cast<const uint16_t*>(w.data) + off}, x, cols);
    case DType::F16:
      return dot(LoadF16{static_cast<const uint16_t*>(w.data) + off, f16_table()}, x, cols);
  }
  TS_CHECK(false, "unknown dtype {}", int(w.dtype));
}

void row_to_f32(const Tensor& w, int64_t row, float* out) {
  TS_CHECK(w.shape.size() == 2 && row >= 0 && row < w.dim(0), "row {} of tensor {}", row,
           w.shape_str());
  w.to_f32(row * w.dim(1), w.dim(1), out);
}

void matvec(ThreadPool& pool, float* out, const Tensor& w, const float* x, const Tensor* bias) {
  TS_CHECK(w.shape.size() == 2, "matvec weight of shape {}", w.shape_str());
  TS_CHECK(!bias || bias->numel() == w.dim(0), "bias {} for weight {}", bias->shape_str(),
           w.shape_str());
  // Rows are tiny work items; give each thread a contiguous block of them.
  pool.parallel_for(w.dim(0), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float s = dot_row(w, r, x);
      out[r] = bias ? s + bias->at(r) : s;
    }
  }, w.dim(1));
}

void rmsnorm(float* out, const float* x, const Tensor& w, int64_t n, float eps) {
  TS_CHECK(w.numel() == n, "norm weight {} for vector of {}", w.shape_str(), n);
  float ss = 0.f;
  for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const float r = 1.f / std::sqrt(ss / float(n) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = w.at(i) * (x[i] * r);
}

void softmax(float* x, int64_t n) {
  float m = x[0];
  for (int64_t i = 1; i < n; ++i) m = std::max(m, x[i]);
  float sum = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  for (int64_t i = 0; i < n; ++i) x[i] /= sum;
}

}  // namespace tessera

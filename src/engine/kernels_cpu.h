// The CPU engine's arithmetic building blocks, kept apart from the transformer wiring in
// cpu_engine.cpp so each can be read (and tested) on its own. Everything is fp32;
// weights are read in their stored dtype and upcast element by element, so a bf16 model
// never needs an fp32 copy.
//
// Every reduction runs in a fixed order that depends only on the vector length, never on
// how rows are split across threads: outputs are bit-identical for any thread count.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/tensor.h"
#include "engine/thread_pool.h"

namespace tessera {

// out[r] = sum_c w[r, c] * x[c] (+ bias[r]) for w [rows, cols]; rows split across the pool.
void matvec(ThreadPool& pool, float* out, const Tensor& w, const float* x,
            const Tensor* bias = nullptr);

// Dot product of row `row` of w [rows, cols] with x[cols].
float dot_row(const Tensor& w, int64_t row, const float* x);
// The same fixed-order dot product on raw rows (the emulator's instruction twins use these
// so a plan's arithmetic is the engine's, bit for bit).
float dot_f32(const float* w, const float* x, int64_t n);
float dot_bf16(const uint16_t* w, const float* x, int64_t n);

// Copies row `row` of w [rows, cols] to out[cols] as fp32 (embedding lookup).
void row_to_f32(const Tensor& w, int64_t row, float* out);

// out[i] = w[i] * (x[i] * rsqrt(mean(x^2) + eps)), as Hugging Face's LlamaRMSNorm in fp32.
// out may alias x.
void rmsnorm(float* out, const float* x, const Tensor& w, int64_t n, float eps);

// In-place max-subtracted softmax over x[n].
void softmax(float* x, int64_t n);

// silu(a) = a * sigmoid(a).
inline float silu(float a) { return a / (1.f + std::exp(-a)); }

}  // namespace tessera

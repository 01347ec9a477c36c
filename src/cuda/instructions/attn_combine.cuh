// attn_combine: merges split-KV partials per query head: M = max m_s,
// L = sum l_s e^(m_s - M), out = sum l_s e^(m_s - M) o_s / L. Splits are few, so each
// thread (one per output element) recomputes M and the weights: no shared memory, no
// barrier. Empty chunks carry (-inf, 0) and weigh nothing.
#pragma once

#include "cuda/instructions/common.cuh"

namespace tessera::cuda {

__device__ inline void run_attn_combine(const Ctx& c) {
  const DevTask& t = c.t;
  const DevBuffer& po = c.buf(t.in);
  const float* parts = static_cast<const float*>(po.ptr);
  const float* ml = static_cast<const float*>(c.buf(t.in2).ptr);
  float* out = static_cast<float*>(c.buf(t.out).ptr);
  const int64_t S = po.shape[1], hd = po.shape[2];
  const int64_t total = (t.row_end - t.row_begin) * hd;
  for (int64_t k = threadIdx.x; k < total; k += blockDim.x) {
    const int64_t hh = t.row_begin + k / hd, i = k % hd;
    float M = -__int_as_float(0x7f800000);
    for (int64_t s = 0; s < S; ++s) M = fmaxf(M, ml[(hh * S + s) * 2]);
    float L = 0.f, acc = 0.f;
    for (int64_t s = 0; s < S; ++s) {
      const float l = ml[(hh * S + s) * 2 + 1];
      if (l == 0.f) continue;
      const float wgt = l * expf(ml[(hh * S + s) * 2] - M);
      L += wgt;
      acc += wgt * parts[(hh * S + s) * hd + i];
    }
    out[hh * hd + i] = acc / L;
  }
}

}  // namespace tessera::cuda

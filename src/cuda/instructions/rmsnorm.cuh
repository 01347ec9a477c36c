// rmsnorm: out[r] = norm[r] * (in[r] * rsqrt(mean(in^2) + eps)) for the task's rows; the
// mean needs the whole input, so every tile reduces all of it (cheap next to a matvec).
// Operation order follows the CPU reference (norm * (x * r), r = 1 / sqrt(ss / n + eps)).
#pragma once

#include "cuda/instructions/common.cuh"

namespace tessera::cuda {

// Sum of squares of in[0, n) over the block; every thread gets the result.
__device__ inline float rms_scale(const float* in, int64_t n, float eps, float* scratch) {
  float ss = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) ss += in[i] * in[i];
  ss = block_sum(ss, scratch);
  return 1.f / sqrtf(ss / float(n) + eps);
}

__device__ inline void run_rmsnorm(const Ctx& c) {
  const DevTask& t = c.t;
  const DevBuffer& in = c.buf(t.in);
  const DevBuffer& g = c.buf(t.norm);
  const float* x = static_cast<const float*>(in.ptr);
  float* out = static_cast<float*>(c.buf(t.out).ptr);
  const float r = rms_scale(x, in.shape[0], t.eps, c.scratch);
  for (int64_t i = t.row_begin + threadIdx.x; i < t.row_end; i += blockDim.x)
    out[i] = load_ro(g.ptr, g.dtype, i) * (x[i] * r);
}

}  // namespace tessera::cuda

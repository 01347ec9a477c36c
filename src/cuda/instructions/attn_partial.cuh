// attn_partial: attention of the query heads of a kv-head group over one chunk of cached
// positions [split*chunk, min(pos+1, (split+1)*chunk)). One query head at a time: q into
// shared memory, one warp per position for the scores (lanes across head_dim: coalesced
// reads of a cache row), max-subtracted softmax over the chunk, then one thread per output
// element sums the weighted value rows (coalesced across threads). The scores of a chunk
// live in shared memory, so the runtime sizes shared memory for the largest chunk.
// Probabilities are normalised before the weighted sum, as the CPU reference does.
#pragma once

#include "cuda/instructions/common.cuh"

namespace tessera::cuda {

__device__ inline void run_attn_partial(const Ctx& c) {
  const DevTask& t = c.t;
  const DevBuffer& qb = c.buf(t.in);
  const DevBuffer& kc = c.buf(t.in2);
  const DevBuffer& vc = c.buf(t.in3);
  const int64_t hd = t.head_dim, width = kc.shape[1];
  const int64_t hkv = width / hd, hq = qb.shape[0] / hd, group = hq / hkv;
  const int64_t lo = int64_t(t.split) * t.chunk;
  const int64_t hi = min(c.a.pos + 1, lo + int64_t(t.chunk));
  const int64_t n = hi > lo ? hi - lo : 0;
  const float scale = 1.f / sqrtf(float(hd));
  const float* q = static_cast<const float*>(qb.ptr);
  float* out = static_cast<float*>(c.buf(t.out).ptr);
  float* out2 = t.splits > 1 ? static_cast<float*>(c.buf(t.out2).ptr) : nullptr;
  float* qs = c.work;
  float* sc = qs + ((hd + 3) / 4) * 4;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;

  for (int64_t g = t.row_begin; g < t.row_end; ++g) {
    for (int64_t hh = g * group; hh < (g + 1) * group; ++hh) {
      // Destination of this head's result: the final output or its slot among the splits.
      float* o = t.splits > 1 ? out + (hh * t.splits + t.split) * hd : out + hh * hd;
      if (n == 0) {
        for (int64_t i = threadIdx.x; i < hd; i += blockDim.x) o[i] = 0.f;
        if (threadIdx.x == 0 && out2) {
          out2[(hh * t.splits + t.split) * 2] = -__int_as_float(0x7f800000);
          out2[(hh * t.splits + t.split) * 2 + 1] = 0.f;
        }
        continue;
      }
      for (int64_t i = threadIdx.x; i < hd; i += blockDim.x) qs[i] = q[hh * hd + i];
      __syncthreads();
      for (int64_t s = warp; s < n; s += warps) {
        const int64_t row = (lo + s) * width + g * hd;
        float d = 0.f;
        for (int64_t i = lane; i < hd; i += 32) d += qs[i] * load_rw(kc.ptr, kc.dtype, row + i);
        d = warp_sum(d);
        if (lane == 0) sc[s] = d * scale;
      }
      __syncthreads();
      float m = -__int_as_float(0x7f800000);
      for (int64_t s = threadIdx.x; s < n; s += blockDim.x) m = fmaxf(m, sc[s]);
      m = block_max(m, c.scratch);
      float sum = 0.f;
      for (int64_t s = threadIdx.x; s < n; s += blockDim.x) {
        const float e = expf(sc[s] - m);
        sc[s] = e;
        sum += e;
      }
      sum = block_sum(sum, c.scratch);  // its barriers also publish sc[]
      for (int64_t i = threadIdx.x; i < hd; i += blockDim.x) {
        float acc = 0.f;
        for (int64_t s = 0; s < n; ++s)
          acc += (sc[s] / sum) * load_rw(vc.ptr, vc.dtype, (lo + s) * width + g * hd + i);
        o[i] = acc;
      }
      if (threadIdx.x == 0 && out2) {
        out2[(hh * t.splits + t.split) * 2] = m;
        out2[(hh * t.splits + t.split) * 2 + 1] = sum;
      }
      __syncthreads();  // qs and sc are reused by the next head
    }
  }
}

}  // namespace tessera::cuda

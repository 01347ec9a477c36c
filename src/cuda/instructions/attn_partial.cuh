// attn_partial: attention of the query heads of a kv-head group over one chunk of cached
// positions [split*chunk, min(pos+1, (split+1)*chunk)). All query heads of the group at
// once, because decode attention is a chain of dependent steps (q, scores, softmax,
// weighted sum), and running the heads one after another multiplied that chain by the
// group size (docs/PERF.md): now the chain runs once per kv head, and each K and V
// element is read once for the whole group (GQA's reuse).
//  - scores: one warp per position; the warp reads the K row once (lanes across head_dim,
//    coalesced) and forms every head's dot product from it;
//  - softmax: one warp per head, max-subtracted, over the chunk;
//  - weighted sum: one thread per (head, element), the V element of a position shared by
//    the group's threads through L1.
// Scores of a chunk live in shared memory ([group][chunk]); the runtime sizes shared memory
// for the largest (runtime.cpp, work_floats). Probabilities are normalised before the
// weighted sum, as the CPU reference does.
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
  float* qs = c.work;                                  // [group][hd]
  float* sc = qs + ((group * hd + 3) / 4) * 4;         // [group][chunk]
  float* stat = sc + group * int64_t(t.chunk);         // [group][2]: max, sum
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  // Destination of head hh's element i: the final output or its slot among the splits.
  auto dst = [&](int64_t hh) { return t.splits > 1 ? out + (hh * t.splits + t.split) * hd : out + hh * hd; };

  for (int64_t g = t.row_begin; g < t.row_end; ++g) {
    const int64_t h0 = g * group;
    if (n == 0) {
      for (int64_t k = threadIdx.x; k < group * hd; k += blockDim.x) dst(h0 + k / hd)[k % hd] = 0.f;
      if (out2)
        for (int64_t j = threadIdx.x; j < group; j += blockDim.x) {
          out2[((h0 + j) * t.splits + t.split) * 2] = -__int_as_float(0x7f800000);
          out2[((h0 + j) * t.splits + t.split) * 2 + 1] = 0.f;
        }
      continue;
    }
    for (int64_t k = threadIdx.x; k < group * hd; k += blockDim.x) qs[k] = q[h0 * hd + k];
    __syncthreads();
    for (int64_t s = warp; s < n; s += warps) {
      const int64_t row = (lo + s) * width + g * hd;
      for (int64_t j = 0; j < group; ++j) {
        float d = 0.f;
        for (int64_t i = lane; i < hd; i += 32) d += qs[j * hd + i] * load_rw(kc.ptr, kc.dtype, row + i);
        d = warp_sum(d);
        if (lane == 0) sc[j * t.chunk + s] = d * scale;
      }
    }
    __syncthreads();
    for (int64_t j = warp; j < group; j += warps) {
      float* sj = sc + j * t.chunk;
      float m = -__int_as_float(0x7f800000);
      for (int64_t s = lane; s < n; s += 32) m = fmaxf(m, sj[s]);
      m = warp_max(m);
      float sum = 0.f;
      for (int64_t s = lane; s < n; s += 32) {
        const float e = expf(sj[s] - m);
        sj[s] = e;
        sum += e;
      }
      sum = warp_sum(sum);
      if (lane == 0) {
        stat[j * 2] = m;
        stat[j * 2 + 1] = sum;
      }
    }
    __syncthreads();
    for (int64_t k = threadIdx.x; k < group * hd; k += blockDim.x) {
      const int64_t j = k / hd, i = k % hd;
      const float* sj = sc + j * t.chunk;
      const float sum = stat[j * 2 + 1];
      float acc = 0.f;
      for (int64_t s = 0; s < n; ++s) acc += (sj[s] / sum) * load_rw(vc.ptr, vc.dtype, (lo + s) * width + g * hd + i);
      dst(h0 + j)[i] = acc;
    }
    if (out2)
      for (int64_t j = threadIdx.x; j < group; j += blockDim.x) {
        out2[((h0 + j) * t.splits + t.split) * 2] = stat[j * 2];
        out2[((h0 + j) * t.splits + t.split) * 2 + 1] = stat[j * 2 + 1];
      }
    __syncthreads();  // qs, sc and stat are reused by the next kv head
  }
}

}  // namespace tessera::cuda

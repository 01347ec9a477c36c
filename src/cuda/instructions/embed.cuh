// embed: out[c] = table[token][c] for the task's columns. The token is read with an
// ordinary load (the host writes it before the launch). A token outside the table cannot
// come from the runtime (CudaEngine::forward checks it); should one appear anyway the
// instruction writes NaN rather than reading outside the table.
#pragma once

#include "cuda/instructions/common.cuh"

namespace tessera::cuda {

__device__ inline void run_embed(const Ctx& c) {
  const DevTask& t = c.t;
  const DevBuffer& table = c.buf(t.w);
  const int32_t token = *static_cast<const int32_t*>(c.buf(t.in).ptr);
  float* out = static_cast<float*>(c.buf(t.out).ptr);
  const int64_t V = table.shape[0], D = table.shape[1];
  const bool ok = token >= 0 && token < V;
  if (ok && table.dtype == kBF16 && D % 8 == 0 && t.row_begin % 8 == 0 && t.row_end % 8 == 0) {
    // 16-byte loads, each thread's (up to kVecs) issued before any store: one memory round
    // trip per 8 * kVecs * blockDim columns. The element loop below made one round trip per
    // blockDim columns, 16 of them for the 8B's 4096: 7.8 us at the start of every step
    // (docs/PERF.md, sixth session).
    constexpr int kVecs = 4;
    const uint4* row = reinterpret_cast<const uint4*>(static_cast<const uint16_t*>(table.ptr) + int64_t(token) * D);
    const int64_t step = 8 * int64_t(blockDim.x);
    for (int64_t base = t.row_begin + 8 * int64_t(threadIdx.x); base < t.row_end; base += kVecs * step) {
      uint4 v[kVecs];
#pragma unroll
      for (int j = 0; j < kVecs; ++j) v[j] = base + j * step < t.row_end ? __ldg(row + (base + j * step) / 8) : uint4{};
#pragma unroll
      for (int j = 0; j < kVecs; ++j) {
        if (base + j * step >= t.row_end) break;
        float f[8];
        unpack_bf16x8(v[j], f);
        float4* o = reinterpret_cast<float4*>(out + base + j * step);  // 32-byte aligned: col % 8 == 0
        o[0] = make_float4(f[0], f[1], f[2], f[3]);
        o[1] = make_float4(f[4], f[5], f[6], f[7]);
      }
    }
    return;
  }
  for (int64_t col = t.row_begin + threadIdx.x; col < t.row_end; col += blockDim.x)
    out[col] = ok ? load_ro(table.ptr, table.dtype, int64_t(token) * D + col) : __int_as_float(0x7fc00000);
}

}  // namespace tessera::cuda

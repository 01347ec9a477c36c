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
  for (int64_t col = t.row_begin + threadIdx.x; col < t.row_end; col += blockDim.x)
    out[col] = ok ? load_ro(table.ptr, table.dtype, int64_t(token) * D + col) : __int_as_float(0x7fc00000);
}

}  // namespace tessera::cuda

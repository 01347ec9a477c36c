// argmax_reduce: the next token from the LM head's partials, one per LM head tile. Every
// thread takes partials p = tid, tid + blockDim, ... and the block reduces them
// (block_argmax). argmax_merge is a total order (larger value, then lower index; NaN
// never wins), so any reduction order picks the partial a sequential scan would. The
// first version scanned them on one thread, one dependent load after another: 8.8 us at
// the end of every 8B step for 132 partials (docs/PERF.md, sixth session).
#pragma once

#include "cuda/instructions/common.cuh"

namespace tessera::cuda {

__device__ inline void run_argmax_reduce(const Ctx& c) {
  const DevTask& t = c.t;
  const float* parts = static_cast<const float*>(c.buf(t.in).ptr);
  float best = -__int_as_float(0x7f800000);
  int best_i = 0x7fffffff;
  for (int32_t p = int32_t(threadIdx.x); p < t.count; p += int32_t(blockDim.x))
    argmax_merge(best, best_i, parts[2 * p], int(parts[2 * p + 1]));
  block_argmax(best, best_i, c.scratch, c.scratch_i);
  if (threadIdx.x != 0) return;
  if (best_i == 0x7fffffff) best_i = t.count > 0 ? int(parts[1]) : 0;  // every value NaN
  *static_cast<int32_t*>(c.buf(t.out).ptr) = best_i;
}

}  // namespace tessera::cuda

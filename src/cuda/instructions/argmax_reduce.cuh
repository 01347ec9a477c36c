// argmax_reduce: the next token from the LM head's partials. P is small (one per LM head
// tile), so one thread scans them in order; the tie rule is the partials' own.
#pragma once

#include "cuda/instructions/common.cuh"

namespace tessera::cuda {

__device__ inline void run_argmax_reduce(const Ctx& c) {
  if (threadIdx.x != 0) return;
  const DevTask& t = c.t;
  const float* parts = static_cast<const float*>(c.buf(t.in).ptr);
  float best = -__int_as_float(0x7f800000);
  int best_i = 0x7fffffff;
  for (int32_t p = 0; p < t.count; ++p) argmax_merge(best, best_i, parts[2 * p], int(parts[2 * p + 1]));
  if (best_i == 0x7fffffff) best_i = t.count > 0 ? int(parts[1]) : 0;
  *static_cast<int32_t*>(c.buf(t.out).ptr) = best_i;
}

}  // namespace tessera::cuda

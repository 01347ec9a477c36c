// The reference variant of the bf16 matvec row tile: the code an agent starts from and
// rewrites. The harness (matvec_bf16.harness.cu) gives each block a tile of rows of w;
// this function computes y[r] = sum_c float(w[r*cols + c]) * x[c] for r in [0, rows)
// with all blockDim.x threads, accumulating in fp32. Any rows >= 1 and cols >= 1 must
// work (w rows are only 2-byte aligned when cols is odd); the run gate tries several
// shapes with fresh random inputs and compares with the CPU twin within a tolerance of
// its own. One warp per row, lanes striding the columns, a shuffle reduction.
#include <cuda_bf16.h>

__device__ void tessera_variant(const __nv_bfloat16* w, const float* x, float* y, int rows, int cols) {
  const int lane = threadIdx.x % 32;
  const int warps = blockDim.x / 32;
  for (int r = threadIdx.x / 32; r < rows; r += warps) {
    const __nv_bfloat16* wr = w + (long long)r * cols;
    float s = 0.0f;
    for (int c = lane; c < cols; c += 32) s += __bfloat162float(wr[c]) * x[c];
    for (int off = 16; off > 0; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
    if (lane == 0) y[r] = s;
  }
}

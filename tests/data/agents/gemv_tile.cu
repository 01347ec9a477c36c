__device__ void gemv_tile(const __nv_bfloat16* __restrict__ w, const float* __restrict__ x,
                          float* __restrict__ y, int rows, int cols) {
  for (int r = threadIdx.x / 32; r < rows; r += blockDim.x / 32) {
    float acc = 0.f;
    for (int c = threadIdx.x % 32; c < cols; c += 32) acc += __bfloat162float(w[r * cols + c]) * x[c];
    for (int o = 16; o > 0; o /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, o);
    if (threadIdx.x % 32 == 0) y[r] = acc;
  }
}

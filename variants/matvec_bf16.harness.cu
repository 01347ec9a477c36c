// The harness's side of the bf16 matvec entry: the only __global__ code in the program
// NVRTC builds, so an agent never writes launch code. Each block gets a tile of
// `tile_rows` rows (the last one possibly shorter) and calls the variant once; the launch
// shape (grid = ceil(rows / tile_rows), block = the entry's thread count) is the harness's.
// This file is compiled after the variant, so it sees the variant's definition.
extern "C" __global__ void tessera_harness_matvec_bf16(const __nv_bfloat16* w, const float* x, float* y, int rows,
                                                       int cols, int tile_rows) {
  const int row0 = blockIdx.x * tile_rows;
  const int n = rows - row0 < tile_rows ? rows - row0 : tile_rows;
  tessera_variant(w + (long long)row0 * cols, x, y + row0, n, cols);
}

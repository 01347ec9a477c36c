// A kernel that does nothing, for bench_test.cpp's planted step: the floor guard must
// catch a "decode step" that skips its work.
#include <cuda_runtime.h>

namespace {
__global__ void empty_kernel() {}
}  // namespace

namespace tessera::test {

cudaError_t launch_empty_kernel(void* stream) {
  empty_kernel<<<1, 32, 0, static_cast<cudaStream_t>(stream)>>>();
  return cudaGetLastError();
}

}  // namespace tessera::test

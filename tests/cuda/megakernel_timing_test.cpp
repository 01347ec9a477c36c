// Step times of the megakernel for each rows-per-warp and weight-ring setting, for tuning the
// defaults on a lent GPU (not a benchmark: `tessera bench` is). Disabled by default; run
//   TESSERA_TIMING_SHAPES=llama-3.2-1b,llama-3-8b tessera_cuda_tests \
//     --gtest_also_run_disabled_tests --gtest_filter='*StepTimes*'
// It prints, per shape and setting, the median / min of 100 steps timed with CUDA events
// at position 1, and the floor from a device-to-device copy measured in the same run.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "cuda/runtime.h"
#include "cuda_test_util.h"
#include "emulate/shape_model.h"
#include "plan/lower.h"

namespace tessera::test {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, sep);)
    if (!x.empty()) out.push_back(x);
  return out;
}

// Bytes read + written per second by a large device-to-device copy (best of 5).
double copy_bandwidth() {
  const size_t n = size_t(1) << 30;
  void *a = nullptr, *b = nullptr;
  EXPECT_EQ(cudaMalloc(&a, n), cudaSuccess);
  EXPECT_EQ(cudaMalloc(&b, n), cudaSuccess);
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  float best = 1e30f;
  for (int i = 0; i < 6; ++i) {
    cudaEventRecord(e0);
    cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice);
    cudaEventRecord(e1);
    cudaEventSynchronize(e1);
    float ms = 0;
    cudaEventElapsedTime(&ms, e0, e1);
    if (i > 0) best = std::min(best, ms);
  }
  cudaFree(a);
  cudaFree(b);
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  return 2.0 * double(n) / (best * 1e-3);
}

TEST(MegakernelTiming, DISABLED_StepTimes) {
  TESSERA_REQUIRE_CUDA();
  const char* shapes_env = std::getenv("TESSERA_TIMING_SHAPES");
  const char* settings_env = std::getenv("TESSERA_TIMING_SETTINGS");
  const auto shapes = split(shapes_env ? shapes_env : "llama-3.2-1b", ',');
  const auto settings = split(settings_env ? settings_env : "1:0,2:0,1:131072", ',');
  const double bw = copy_bandwidth();
  std::printf("copy bandwidth (read+write): %.1f GB/s\n", bw / 1e9);
  for (const std::string& shape : shapes) {
    Model model = shape_model(shape, 1);
    LowerConfig knobs;
    knobs.sms = cuda_device_sms();
    const Plan plan = lower(model.config, target_preset("sm_90a"), knobs, 256, shape);
    CudaOptions options;
    options.ring_bytes = 128 * 1024;  // allocated, so every setting up to it can be timed
    CudaEngine engine(plan, model, options);
    int64_t weight_bytes = 0;
    for (const Buffer& b : plan.buffers)
      // The embedding is read as one row, unless it is also the (tied) LM head.
      if (b.kind == BufferKind::Weight &&
          (b.weight != "model.embed_tokens.weight" || model.config.tie_word_embeddings)) {
        int64_t n = 2;
        for (int64_t d : b.shape) n *= d;
        weight_bytes += n;
      }
    const double floor_ms = double(weight_bytes) / bw * 1e3;
    engine.forward(1, 0);
    const int64_t ring = engine.runner().ring_bytes();
    cudaStream_t stream;
    ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
    for (const std::string& setting : settings) {
      // "ROWS_PER_WARP:RING_BYTES"
      const size_t colon = setting.find(':');
      ASSERT_NE(colon, std::string::npos) << setting;
      engine.runner().set_rows_per_warp(std::stoi(setting.substr(0, colon)));
      engine.runner().set_ring_bytes(std::min<int64_t>(std::stoll(setting.substr(colon + 1)), ring));
      std::vector<cudaEvent_t> ev(101);
      for (auto& e : ev) cudaEventCreate(&e);
      for (int i = 0; i < 10; ++i) engine.runner().enqueue(1, stream);
      for (int i = 0; i < 100; ++i) {
        cudaEventRecord(ev[size_t(i)], stream);
        engine.runner().enqueue(1, stream);
      }
      cudaEventRecord(ev[100], stream);
      ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
      engine.runner().check_after_sync();
      std::vector<float> ms(100);
      for (int i = 0; i < 100; ++i) cudaEventElapsedTime(&ms[size_t(i)], ev[size_t(i)], ev[size_t(i) + 1]);
      for (auto& e : ev) cudaEventDestroy(e);
      std::sort(ms.begin(), ms.end());
      std::printf("%-14s %-9s median %.3f ms  min %.3f ms  floor %.3f ms (%.2f GB weights)  ratio %.2f\n",
                  shape.c_str(), setting.c_str(), ms[50], ms[0], floor_ms, weight_bytes / 1e9, ms[50] / floor_ms);
      std::fflush(stdout);
    }
    cudaStreamDestroy(stream);
  }
}

}  // namespace
}  // namespace tessera::test

// Run-gate trials on the device (see variant_launch.h). Every trial gets an arena of its
// own (guards, w, x, poisoned y), and every arena stays allocated until the end: each
// call then sees buffers at new addresses, and a final pass re-reads the earlier arenas,
// so a variant that keeps state in memory it reached from an earlier call's pointers is
// seen both ways (its stale result is wrong, its write into old memory is a change).
// Shapes alternate (A, B, A, B) so a result cached per shape is also stale.
#include "cuda/variant_launch.h"

#include <cuda_runtime.h>
#include <fmt/format.h>

#include <vector>

#include "cuda/runtime.h"
#include "variants/matvec_bf16_trial.h"

namespace tessera::cuda {

namespace {

using nlohmann::json;

json verdict(const std::string& status, const std::string& reason) { return {{"status", status}, {"reason", reason}}; }

struct Arenas {
  std::vector<void*> ptrs;
  ~Arenas() {
    for (void* p : ptrs) cudaFree(p);
  }
};

}  // namespace

json run_variant_trials(const std::string& image, const variants::VariantSpec& spec, uint64_t seed, int trials_per_shape) {
  std::string why;
  if (!cuda_device_available(&why)) return verdict("no_device", "no CUDA device: " + why);
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return verdict("no_device", "cudaGetDeviceProperties failed");
  const std::string device = fmt::format("{} (sm_{}{})", prop.name, prop.major, prop.minor);

  cudaLibrary_t lib = nullptr;
  cudaError_t e = cudaLibraryLoadData(&lib, image.c_str(), nullptr, nullptr, 0, nullptr, nullptr, 0);
  if (e != cudaSuccess) return verdict("load_failed", fmt::format("cudaLibraryLoadData on {}: {}", device, cudaGetErrorString(e)));
  cudaKernel_t kernel = nullptr;
  e = cudaLibraryGetKernel(&kernel, lib, spec.kernel.c_str());
  if (e != cudaSuccess)
    return verdict("load_failed", fmt::format("kernel '{}' not found: {}", spec.kernel, cudaGetErrorString(e)));

  json out{{"status", "pass"}, {"device", device}, {"seed", seed}, {"trials", json::array()}};
  const int n_trials = trials_per_shape * int(spec.shapes.size());
  const std::vector<uint64_t> seeds = variants::trial_seeds(seed, n_trials);
  Arenas arenas;
  std::vector<std::vector<uint8_t>> seen;  // each arena as it came back
  auto fault = [&](const std::string& what, cudaError_t err) {
    out["status"] = "fault";
    out["reason"] = fmt::format("{}: {}", what, cudaGetErrorString(err));
    return out;
  };
  for (int i = 0; i < n_trials; ++i) {
    const variants::VariantShape shape = spec.shapes[size_t(i) % spec.shapes.size()];
    const variants::Trial t = variants::make_trial(shape, seeds[size_t(i)]);
    const std::string where = fmt::format("shape {}x{} (seed {})", shape.rows, shape.cols, t.seed);
    void* arena = nullptr;
    if ((e = cudaMalloc(&arena, t.arena.size())) != cudaSuccess) return fault("cudaMalloc of the trial arena", e);
    arenas.ptrs.push_back(arena);
    if ((e = cudaMemcpy(arena, t.arena.data(), t.arena.size(), cudaMemcpyHostToDevice)) != cudaSuccess)
      return fault("uploading the trial arena", e);
    auto* base = static_cast<uint8_t*>(arena);
    const void* w = base + t.layout.w_off;
    const void* x = base + t.layout.x_off;
    void* y = base + t.layout.y_off;
    int rows = shape.rows, cols = shape.cols, tile = spec.tile_rows;
    void* args[] = {&w, &x, &y, &rows, &cols, &tile};
    const dim3 grid(unsigned((rows + tile - 1) / tile)), block(unsigned(spec.threads));
    if ((e = cudaLaunchKernel(reinterpret_cast<const void*>(kernel), grid, block, args, 0, nullptr)) != cudaSuccess)
      return fault(where + ": launch", e);
    if ((e = cudaDeviceSynchronize()) != cudaSuccess) return fault(where + ": the kernel failed", e);
    std::vector<uint8_t> after(t.arena.size());
    if ((e = cudaMemcpy(after.data(), arena, after.size(), cudaMemcpyDeviceToHost)) != cudaSuccess)
      return fault("downloading the trial arena", e);
    const variants::TrialReport r = variants::check_trial(t, after, spec);
    out["trials"].push_back(r.to_json());
    seen.push_back(std::move(after));
    if (!r.passed()) {
      out["status"] = "fail";
      out["reason"] = r.reason();
      return out;
    }
  }
  for (size_t i = 0; i + 1 < seen.size(); ++i) {
    std::vector<uint8_t> now(seen[i].size());
    if ((e = cudaMemcpy(now.data(), arenas.ptrs[i], now.size(), cudaMemcpyDeviceToHost)) != cudaSuccess)
      return fault("re-reading an earlier arena", e);
    if (now != seen[i]) {
      out["status"] = "fail";
      out["reason"] = fmt::format("a later call wrote into call {}'s memory after it finished: state kept across calls", i + 1);
      return out;
    }
  }
  cudaLibraryUnload(lib);
  return out;
}

}  // namespace tessera::cuda

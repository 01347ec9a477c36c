// Run-gate trials on the device (see variant_launch.h). Every trial gets an arena of its
// own (guards, w, x, poisoned y), and every arena stays allocated until the end: each
// call then sees buffers at new addresses, and a final pass re-reads the earlier arenas,
// so a variant that keeps state in memory it reached from an earlier call's pointers is
// seen both ways (its stale result is wrong, its write into old memory is a change).
// Shapes alternate (A, B, A, B) so a result cached per shape is also stale. A timed check
// adds one more trial at the entry's time shape (its own arena, checked like the others)
// and then times the variant against the leader on that arena's inputs.
#include "cuda/variant_launch.h"

#include <cuda_runtime.h>
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "bench/stats.h"
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

struct Events {
  cudaEvent_t start = nullptr, stop = nullptr;
  Events() {
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
  }
  ~Events() {
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
  }
};

json summary_json(const Summary& s) { return {{"median", s.median}, {"p10", s.p10}, {"p90", s.p90}, {"n", s.n}}; }

}  // namespace

json run_variant_trials(const std::string& image, const variants::VariantSpec& spec, uint64_t seed, int trials_per_shape,
                        const VariantTiming* timing) {
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
  struct Buffers {
    const void* w = nullptr;
    const void* x = nullptr;
    void* y = nullptr;
    variants::VariantShape shape;
  } last;
  auto launch = [&](cudaKernel_t k, Buffers& b) {
    int rows = b.shape.rows, cols = b.shape.cols, tile = spec.tile_rows;
    void* args[] = {&b.w, &b.x, &b.y, &rows, &cols, &tile};
    const dim3 grid(unsigned((rows + tile - 1) / tile)), block(unsigned(spec.threads));
    return cudaLaunchKernel(reinterpret_cast<const void*>(k), grid, block, args, 0, nullptr);
  };
  // One checked trial in an arena of its own; the arena's device copy stays allocated.
  // Returns false (out says why) when the variant faulted or the check failed.
  auto trial = [&](const variants::VariantShape& shape, uint64_t trial_seed, const char* key) -> bool {
    const variants::Trial t = variants::make_trial(shape, trial_seed);
    const std::string where = fmt::format("shape {}x{} (seed {})", shape.rows, shape.cols, t.seed);
    void* arena = nullptr;
    if ((e = cudaMalloc(&arena, t.arena.size())) != cudaSuccess) return fault("cudaMalloc of the trial arena", e), false;
    arenas.ptrs.push_back(arena);
    if ((e = cudaMemcpy(arena, t.arena.data(), t.arena.size(), cudaMemcpyHostToDevice)) != cudaSuccess)
      return fault("uploading the trial arena", e), false;
    auto* base = static_cast<uint8_t*>(arena);
    last.w = base + t.layout.w_off;
    last.x = base + t.layout.x_off;
    last.y = base + t.layout.y_off;
    last.shape = shape;
    if ((e = launch(kernel, last)) != cudaSuccess) return fault(where + ": launch", e), false;
    if ((e = cudaDeviceSynchronize()) != cudaSuccess) return fault(where + ": the kernel failed", e), false;
    std::vector<uint8_t> after(t.arena.size());
    if ((e = cudaMemcpy(after.data(), arena, after.size(), cudaMemcpyDeviceToHost)) != cudaSuccess)
      return fault("downloading the trial arena", e), false;
    const variants::TrialReport r = variants::check_trial(t, after, spec);
    if (std::string(key) == "trials") out["trials"].push_back(r.to_json());
    else out[key] = r.to_json();
    seen.push_back(std::move(after));
    if (!r.passed()) {
      out["status"] = "fail";
      out["reason"] = r.reason();
      return false;
    }
    return true;
  };
  for (int i = 0; i < n_trials; ++i)
    if (!trial(spec.shapes[size_t(i) % spec.shapes.size()], seeds[size_t(i)], "trials")) return out;
  if (timing && !trial(spec.time_shape, variants::trial_seeds(seed ^ 0x7469'6d65ULL, 1)[0], "time_trial")) return out;
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
  if (timing) {
    // On the time shape's arena, which the check above left with the variant's output.
    cudaLibrary_t leader_lib = nullptr;
    if ((e = cudaLibraryLoadData(&leader_lib, timing->leader_image.c_str(), nullptr, nullptr, 0, nullptr, nullptr, 0)) !=
        cudaSuccess) {
      out["status"] = "load_failed";
      out["reason"] = fmt::format("the leader's image: cudaLibraryLoadData: {}", cudaGetErrorString(e));
      return out;
    }
    cudaKernel_t leader = nullptr;
    if ((e = cudaLibraryGetKernel(&leader, leader_lib, spec.kernel.c_str())) != cudaSuccess) {
      out["status"] = "load_failed";
      out["reason"] = fmt::format("the leader's kernel '{}': {}", spec.kernel, cudaGetErrorString(e));
      return out;
    }
    Events ev;
    auto timed = [&](cudaKernel_t k, double* seconds) {
      cudaEventRecord(ev.start);
      if ((e = launch(k, last)) != cudaSuccess) return false;
      cudaEventRecord(ev.stop);
      if ((e = cudaEventSynchronize(ev.stop)) != cudaSuccess) return false;
      float ms = 0;
      cudaEventElapsedTime(&ms, ev.start, ev.stop);
      *seconds = double(ms) * 1e-3;
      return true;
    };
    double t_c = 0, t_l = 0;
    for (int w = 0; w < 3; ++w)  // clocks up, instruction caches warm, for both
      if (!timed(kernel, &t_c) || !timed(leader, &t_l)) return fault("timing warm-up", e);
    std::vector<double> cand, lead, ratio;
    for (int p = 0; p < timing->pairs; ++p) {
      const bool cand_first = p % 2 == 0;
      if (!timed(cand_first ? kernel : leader, cand_first ? &t_c : &t_l) ||
          !timed(cand_first ? leader : kernel, cand_first ? &t_l : &t_c))
        return fault(fmt::format("timing pair {}", p), e);
      cand.push_back(t_c);
      lead.push_back(t_l);
      ratio.push_back(t_c / t_l);
    }
    const Summary c = summarize(cand), l = summarize(lead), r = summarize(ratio);
    out["timing"] = {{"shape", {spec.time_shape.rows, spec.time_shape.cols}},
                     {"pairs", timing->pairs},
                     {"candidate_median_s", c.median},
                     {"candidate_spread", c.spread()},
                     {"leader_median_s", l.median},
                     {"ratio_median", r.median},
                     {"ratio_p10", r.p10},
                     {"ratio_p90", r.p90},
                     {"weight_bytes", int64_t(spec.time_shape.rows) * spec.time_shape.cols * 2}};
    cudaLibraryUnload(leader_lib);
  }
  cudaLibraryUnload(lib);
  return out;
}

}  // namespace tessera::cuda

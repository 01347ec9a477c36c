#include "cli/backends.h"

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "emulate/emulator.h"
#include "engine/cpu_engine.h"
#include "plan/lower.h"
#include "plan/plan_json.h"
#include "validate/validate.h"
#ifdef TESSERA_HAVE_CUDA
#include "cuda/ops/ops_engine.h"
#include "cuda/runtime.h"
#endif

namespace tessera::cli {

void add_dispatch_flag(CLI::App* cmd, std::string& dispatch) {
  cmd->add_option("--dispatch", dispatch,
                  "emu: rounds (interleaving reproducible from --emu-seed) or free (no barrier between tasks: "
                  "faster on many cores, not reproducible)")
      ->check(CLI::IsMember({"rounds", "free"}))
      ->capture_default_str();
}

void add_backend_flags(CLI::App* cmd, BackendFlags& f) {
  cmd->add_option("--backend", f.backend,
                  "cpu (reference engine), emu (plan on the CPU emulator), cuda (plan as a megakernel), "
                  "ops (one CUDA kernel per operation, cuBLAS products) or ops-graph (ops captured in a CUDA graph)")
      ->check(CLI::IsMember({"cpu", "emu", "cuda", "ops", "ops-graph"}))
      ->capture_default_str();
  cmd->add_option("--plan", f.plan, "Plan JSON for emu/cuda (default: lower the model with default knobs)");
  cmd->add_option("--arch", f.arch, "Target for the default lowering")->capture_default_str();
  cmd->add_option("--sms", f.sms, "Blocks for the default lowering (0: the target's SMs)");
  cmd->add_option("--context", f.context, "KV cache capacity in tokens (0: model context, at most 4096); "
                  "for emu/cuda the default plan's context");
  cmd->add_option("--numerics", f.numerics, "emu: fp32 or gpu (bf16 where the GPU rounds)")
      ->check(CLI::IsMember({"fp32", "gpu"}))
      ->capture_default_str();
  cmd->add_option("--emu-seed", f.emu_seed, "emu: interleaving seed")->capture_default_str();
  add_dispatch_flag(cmd, f.dispatch);
  cmd->add_option("--threads", f.threads, "CPU threads (0: all cores)");
}

BackendHandle make_backend(const Model& model, const BackendFlags& f) {
  BackendHandle h;
  if (f.backend == "cpu") {
    h.backend = std::make_unique<CpuEngine>(model, f.context, f.threads);
    return h;
  }
  if (f.backend == "ops" || f.backend == "ops-graph") {
    if (!f.plan.empty()) throw UsageError("--plan applies to --backend emu or cuda; " + f.backend + " runs no plan");
#ifdef TESSERA_HAVE_CUDA
    h.backend = std::make_unique<OpsEngine>(model, f.context, f.backend == "ops-graph");
    return h;
#else
    fail("--backend {}: this tessera was built without a CUDA toolkit (rebuild where nvcc is on PATH)", f.backend);
#endif
  }
  if (!f.plan.empty()) {
    h.plan = std::make_unique<Plan>(load_plan(f.plan));
  } else {
    LowerConfig knobs;
    knobs.sms = f.sms;
    h.plan = std::make_unique<Plan>(lower(model.config, target_preset(f.arch), knobs, f.context,
                                          model.source));
    fmt::print(stderr, "tessera: lowered a default plan for {} ({} tasks on {} blocks)\n", f.arch,
               h.plan->tasks.size(), h.plan->queues.size());
  }
  // Rejected plans never run, on any backend.
  if (ValidationReport report = validate_plan(*h.plan); !report.ok())
    fail("{}: the validator rejects this plan:\n{}", f.plan.empty() ? "default plan" : f.plan, report.to_text());
  if (f.backend == "emu") {
    EmulatorOptions o;
    o.numerics = f.numerics;
    o.seed = f.emu_seed;
    o.dispatch = f.dispatch;
    o.threads = f.threads;
    const ModelConfig config = model.config;
    o.constants = [config](const Plan& p, int32_t buf) { return constant_values(p, buf, config); };
    h.backend = std::make_unique<Emulator>(*h.plan, model, o);
    return h;
  }
#ifdef TESSERA_HAVE_CUDA
  h.backend = std::make_unique<CudaEngine>(*h.plan, model);
  return h;
#else
  fail("--backend cuda: this tessera was built without a CUDA toolkit (rebuild where nvcc is on PATH)");
#endif
}

void round_weights_to_bf16(Model& model) {
  for (auto& [name, t] : model.weights) {
    if (t.dtype == DType::BF16) continue;
    std::vector<uint8_t> bytes(size_t(t.numel()) * 2);
    uint16_t* out = reinterpret_cast<uint16_t*>(bytes.data());
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = f32_to_bf16(t.at(i));
    t = Tensor::owned_bytes(DType::BF16, t.shape, std::move(bytes));
  }
}

}  // namespace tessera::cli

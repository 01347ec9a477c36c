// Backend selection for the CLI: `--backend cpu|emu|cuda|ops|ops-graph` with an optional
// `--plan`. emu and cuda run a plan (the given one, else the default lowering of the model
// for --arch); the plan is validated by whoever runs it. ops and ops-graph are the
// baselines without a plan (cuda/ops/ops_engine.h). cuda, ops and ops-graph exist only in
// builds with a CUDA toolkit.
#pragma once

#include <memory>
#include <string>

#include "engine/backend.h"
#include "model/model.h"
#include "plan/plan.h"

namespace CLI {
class App;
}

namespace tessera::cli {

struct BackendFlags {
  std::string backend = "cpu";
  std::string plan;            // plan JSON; empty: lower the model with default knobs
  std::string arch = "sm_90a";
  int sms = 0;                 // blocks for the default lowering (0: the target's SMs)
  int context = 0;             // KV capacity (cpu) / plan context for the default lowering
  std::string numerics = "gpu";  // emu
  uint64_t emu_seed = 0;
  std::string dispatch = "rounds";  // emu: EmulatorOptions::dispatch
  int threads = 0;
};

void add_backend_flags(CLI::App* cmd, BackendFlags& f);
// --dispatch rounds|free (EmulatorOptions::dispatch), shared with `tessera emulate`.
void add_dispatch_flag(CLI::App* cmd, std::string& dispatch);

// A backend together with the plan it runs (the backend refers to it).
struct BackendHandle {
  std::unique_ptr<Plan> plan;
  std::unique_ptr<DecodeBackend> backend;
};

BackendHandle make_backend(const Model& model, const BackendFlags& f);

// Replaces every weight by its bf16 rounding (held as bf16), so a CPU reference sees
// exactly the weights a bf16 backend uploads.
void round_weights_to_bf16(Model& model);

}  // namespace tessera::cli

// tessera check: a backend (emulator, CUDA megakernel or the ops baselines) against the CPU
// reference engine on the same weights, teacher-forced over a prompt and greedy steps (verify/backend_check.h).
#include "cli/backends.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "emulate/shape_model.h"
#include "verify/backend_check.h"

namespace tessera::cli {
namespace {

void add_check(CLI::App& app) {
  struct Opts {
    std::string model, shape, tokens = "1,2,3,4";
    uint64_t seed = 0;
    int steps = 64;
    double tolerance = 0;
    bool bf16_weights = false;
    BackendFlags backend;
  };
  auto o = std::make_shared<Opts>();
  o->backend.backend = "emu";
  auto* cmd = app.add_subcommand("check", "Compare a backend's logits and tokens with the CPU reference engine");
  auto* m = cmd->add_option("--model", o->model, "Model: HF directory, .gguf file or llama2.c .bin");
  auto* s = cmd->add_option("--shape", o->shape, "Built-in shape with seeded random weights");
  m->excludes(s);
  cmd->add_option("--seed", o->seed, "Weight seed for --shape")->capture_default_str();
  cmd->add_option("--tokens", o->tokens, "Prompt token ids")->capture_default_str();
  cmd->add_option("--steps", o->steps, "Greedy steps after the prompt")->capture_default_str();
  cmd->add_option("--tolerance", o->tolerance,
                  "Relative logit error bound (default: 1e-5 for emu fp32, 2e-2 for emu gpu and cuda, 3e-2 for ops)");
  cmd->add_flag("--bf16-weights", o->bf16_weights,
                "Round the weights to bf16 first, so the reference uses exactly the GPU's weights");
  add_backend_flags(cmd, o->backend);
  cmd->callback([o] {
    if (o->model.empty() == o->shape.empty()) throw UsageError("check: give exactly one of --model or --shape");
    if (o->backend.backend == "cpu") throw UsageError("check: --backend must be emu, cuda, ops or ops-graph");
    Model model = o->model.empty() ? shape_model(o->shape, o->seed) : load_model_verbose(o->model);
    if (o->bf16_weights) round_weights_to_bf16(model);
    // ops rounds every product's input vector to bf16 as well (cuda/ops/ops_engine.h).
    const bool ops = o->backend.backend == "ops" || o->backend.backend == "ops-graph";
    double tol = o->tolerance > 0 ? o->tolerance
                 : (o->backend.backend == "emu" && o->backend.numerics == "fp32") ? 1e-5
                 : ops ? 3e-2 : 2e-2;
    BackendFlags flags = o->backend;
    BackendCheckOptions opt;
    opt.prompt = parse_id_list(o->tokens, "--tokens");
    opt.steps = o->steps;
    opt.tolerance = tol;
    opt.engine_threads = flags.threads;
    if (flags.context == 0) flags.context = int(opt.prompt.size()) + o->steps;
    BackendHandle h = make_backend(model, flags);
    BackendCheck r = check_backend(model, *h.backend, opt);
    fmt::print("{} vs cpu reference, {}: {}", flags.backend, o->model.empty() ? o->shape : o->model,
               r.summary(tol));
    if (!r.passed(tol)) throw ExitCode{1};
  });
}

const CommandRegistration kRegistered(60, add_check);

}  // namespace
}  // namespace tessera::cli

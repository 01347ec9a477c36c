// tessera compile: lowers a model (a file, or a built-in shape without weights) to a plan
// for a target. Only the config is needed to lower, but --model loads the file anyway so
// a plan is never made for a model that would not load.
#include <chrono>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "plan/plan_json.h"

namespace tessera::cli {
namespace {

struct CompileArgs {
  std::string model, shape, arch = "sm_90a", out;
  int sms = -1, context = 0;
  std::vector<std::string> knobs;
};

void add_compile(CLI::App& app) {
  auto a = std::make_shared<CompileArgs>();
  auto* cmd = app.add_subcommand("compile", "Lower a model's decode step to a plan (schedule IR) for a GPU target");
  cmd->add_option("--model", a->model, "Model: HF directory, .gguf file or llama2.c .bin");
  cmd->add_option("--shape", a->shape, "Built-in model shape (see make-model) instead of a file");
  cmd->add_option("--arch", a->arch, "Target: sm_80, sm_86, sm_89, sm_90a, sm_100a, sm_120")->capture_default_str();
  cmd->add_option("--sms", a->sms, "Blocks to use (default: every SM of the target)");
  cmd->add_option("--context", a->context, "KV cache positions (default: min(model context, 4096))");
  cmd->add_option("--knob", a->knobs, "Lowering knob key=value (repeatable; e.g. kv_splits=4, rows=16)");
  cmd->add_option("--out", a->out, "Plan JSON to write")->required();
  cmd->callback([a] {
    if (a->model.empty() == a->shape.empty()) throw UsageError("compile: give exactly one of --model and --shape");
    if (a->context < 0) throw UsageError(fmt::format("--context {} must be positive", a->context));
    Target target;
    try {
      target = target_preset(a->arch);
    } catch (const UsageError&) {
      throw;
    } catch (const Error& e) {
      throw UsageError(fmt::format("--arch: {}", e.what()));
    }
    LowerConfig knobs;
    for (const std::string& k : a->knobs) knobs.set(k);
    if (a->sms >= 0) knobs.set(fmt::format("sms={}", a->sms));
    ModelConfig config;
    std::string label;
    if (!a->shape.empty()) {
      try {
        config = shape_config(a->shape);
      } catch (const Error& e) {
        throw UsageError(fmt::format("--shape: {}", e.what()));
      }
      label = a->shape;
    } else {
      config = load_model_verbose(a->model).config;
      label = a->model;
    }
    auto t0 = std::chrono::steady_clock::now();
    Plan plan = lower(config, target, knobs, a->context, label);
    double lower_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    save_plan(plan, a->out);
    fmt::print(stderr, "tessera: compiled {} for {}: {} tasks, {} blocks, {} counters, {} buffers, context {} -> {} ({:.2f} s)\n",
               label, target.arch, plan.tasks.size(), plan.queues.size(), plan.counters.size(),
               plan.buffers.size(), plan.context, a->out, lower_s);
  });
}

const CommandRegistration kRegistered(60, add_compile);

}  // namespace
}  // namespace tessera::cli

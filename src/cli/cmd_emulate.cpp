// tessera emulate: run a plan on the CPU emulator beside the reference engine and report
// whether they agree (logits within 1e-5 relative in fp32 numerics, identical greedy tokens,
// identical results across --interleavings seeds). The work is check_against_reference()
// in src/emulate/reference_check.h; this file only turns flags into its options.
#include "cli/backends.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "emulate/reference_check.h"
#include "emulate/shape_model.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "plan/plan_json.h"
#include "tokenizer/tokenizer.h"

namespace tessera::cli {

namespace {

void add_emulate(CLI::App& app) {
  struct Opts {
    std::string plan, model, shape, tokens, prompt, tokenizer, numerics = "fp32", trace, dispatch = "rounds";
    uint64_t seed = 0, emu_seed = 0;
    int steps = 8, interleavings = 1, threads = 0;
    bool no_shadow = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("emulate", "Run a plan on the CPU emulator and compare it with the reference engine");
  cmd->add_option("--plan", o->plan, "Plan JSON (tessera compile)")->required();
  auto* m = cmd->add_option("--model", o->model, "Model: HF directory, .gguf file or llama2.c .bin");
  auto* s = cmd->add_option("--shape", o->shape, "Built-in shape with seeded random weights instead of --model");
  m->excludes(s);
  cmd->add_option("--seed", o->seed, "Weight seed for --shape")->capture_default_str();
  auto* t = cmd->add_option("--tokens", o->tokens, "Prompt token ids, e.g. 1,2,3");
  auto* p = cmd->add_option("--prompt", o->prompt, "Prompt text (the model's tokenizer)");
  t->excludes(p);
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json or tokenizer.bin for --prompt");
  cmd->add_option("--steps", o->steps, "Greedy steps after the prompt")->capture_default_str();
  cmd->add_option("--numerics", o->numerics, "fp32 (must match the engine) or gpu (bf16 where the GPU rounds)")
      ->check(CLI::IsMember({"fp32", "gpu"}))
      ->capture_default_str();
  cmd->add_option("--interleavings", o->interleavings, "Runs with different scheduling seeds; all must agree")
      ->capture_default_str();
  cmd->add_option("--emu-seed", o->emu_seed, "Scheduling seed of the first interleaving")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Worker threads standing in for SMs (0: all cores)");
  add_dispatch_flag(cmd, o->dispatch);
  cmd->add_option("--trace", o->trace, "Write a Chrome trace JSON of the first interleaving");
  cmd->add_flag("--no-shadow", o->no_shadow, "Skip race and uninitialized-read detection (faster)");
  cmd->callback([o] {
    if (o->model.empty() && o->shape.empty()) throw UsageError("emulate: give --model PATH or --shape NAME");
    const Plan plan = load_plan(o->plan);
    const Model model = o->model.empty() ? shape_model(o->shape, o->seed) : load_model_verbose(o->model);

    ReferenceCheckOptions ro;
    if (!o->tokens.empty()) {
      ro.prompt = parse_id_list(o->tokens, "--tokens");
    } else if (!o->prompt.empty()) {
      std::optional<std::string> tp;
      if (!o->tokenizer.empty()) tp = o->tokenizer;
      ro.prompt = load_tokenizer_for(model, tp)->encode(o->prompt, true);
    } else {
      ro.prompt = {model.config.bos_token_id >= 0 ? model.config.bos_token_id : 0};
    }
    ro.steps = o->steps;
    ro.interleavings = o->interleavings;
    ro.engine_threads = o->threads;
    ro.emulator.numerics = o->numerics;
    ro.emulator.seed = o->emu_seed;
    ro.emulator.threads = o->threads;
    ro.emulator.dispatch = o->dispatch;
    ro.emulator.trace_path = o->trace;
    ro.emulator.check_shadow = !o->no_shadow;
    ro.emulator.constants = [&model](const Plan& pl, int32_t buf) { return constant_values(pl, buf, model.config); };

    const ReferenceCheck r = check_against_reference(plan, model, ro);
    // fp32 numerics must match the engine; gpu numerics are reported, judged by tokens.
    const double tol = o->numerics == "fp32" ? 1e-5 : 1.0;
    fmt::print("plan:             {} ({} tasks on {} blocks)\n", o->plan, plan.tasks.size(), plan.queues.size());
    fmt::print("model:            {}\n", model.source);
    fmt::print("numerics:         {}\n", o->numerics);
    fmt::print("{}", r.summary(tol));
    if (!o->trace.empty()) fmt::print("trace:            {}\n", o->trace);
    if (!r.passed(tol)) throw ExitCode{1};
  });
}

const CommandRegistration kRegistered(62, add_emulate);

}  // namespace

}  // namespace tessera::cli

// tessera tune: the search loop (src/search/tune_loop.h) from the command line, its report
// (--report) and the search-efficiency experiment (--sweep). Costs are predicted by the
// cost model and labelled so, unless `--measure gpu` plugs the CUDA Measurer
// (cli/gpu_tuning_measurer.h) into run_tune() or run_sweep(): then every candidate (or sweep
// point) that passes the emulator is verified against the CPU reference on the GPU and
// timed as `tessera bench` times.
#include <filesystem>
#include <fstream>

#include "cli/common.h"
#include "cli/commands.h"
#include "cli/gpu_tuning_measurer.h"
#include "cli/llm_flags.h"
#include "core/error.h"
#include "search/report.h"
#include "search/sweep.h"
#include "search/tune_loop.h"
#include "search/variant_tune.h"

namespace tessera::cli {

namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

void write_text(const std::string& path, const std::string& text) {
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) fail("cannot write '{}'", path);
}

// --agents llm: the endpoint is resolved and its client built (a missing key variable fails
// here, before the first candidate); agent flags without it are usage errors, not ignored.
void configure_agents(const CLI::App& cmd, const std::string& mode, const agents::LlmFlags& flags, TuneOptions& t) {
  if (mode != "llm") {
    for (const CLI::Option* opt : cmd.get_options()) {
      const std::string name = opt->get_name();
      if (opt->count() > 0 && (name.rfind("--agent-", 0) == 0 || name.rfind("--llm-", 0) == 0))
        throw UsageError(fmt::format("tune: {} applies with --agents llm", name));
    }
    return;
  }
  if (!(t.agents.rate >= 0 && t.agents.rate <= 1))
    throw UsageError(fmt::format("tune: --agent-rate {} must be in [0, 1]", t.agents.rate));
  if (t.agents.budget_calls < 0 || t.agents.budget_tokens < 0) throw UsageError("tune: agent budgets must be >= 0");
  if (t.policy == "random" || t.policy.rfind("pareto", 0) == 0)
    throw UsageError(fmt::format(
        "tune --agents llm: the {} policy never mutates, so it never draws the agents; use stark or evolve", t.policy));
  t.agents.client = std::make_shared<agents::LlmClient>(
      agents::resolve_llm_config(flags, [](const char* name) { return std::getenv(name); }));
}

// A tuning run (plans or a variant) needs an end, and budgets are never negative.
void check_budgets(const TuneOptions& t) {
  if (t.budget_minutes < 0 || t.budget_candidates < 0) throw UsageError("tune: budgets must be >= 0");
  if (!t.resume && t.budget_minutes == 0 && t.budget_candidates == 0)
    throw UsageError("tune: give --budget-minutes M or --budget-candidates K (a run needs an end)");
}

void add_tune(CLI::App& app) {
  struct Opts {
    TuneOptions t;
    bool report = false, sweep = false, no_emulate = false;
    std::string md, svg, sweep_knobs, sweep_policies = "stark,evolve,pareto,random";
    int sweep_seeds = 10;
    std::vector<std::string> knobs;
    std::string space;
    std::string measure = "model";
    int gpu_steps = 50;
    std::string agents = "none";
    agents::LlmFlags llm;
    std::string variant;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("tune", "Search for a faster plan: propose, validate, emulate, cost, keep or revert");
  cmd->add_option("--model", o->t.model_path, "Model: HF directory, .gguf file or llama2.c .bin");
  cmd->add_option("--shape", o->t.shape, "Built-in model shape instead of a file");
  cmd->add_option("--target", o->t.target, "Target architecture (default sm_90a)");
  cmd->add_option("--policy", o->t.policy,
                  "stark (default), evolve, pareto (fronts on each instruction kind's own time), pareto-step (fronts on "
                  "the whole step's time) or random");
  cmd->add_option("--budget-minutes", o->t.budget_minutes, "Stop after this many minutes (this invocation)");
  cmd->add_option("--budget-candidates", o->t.budget_candidates, "Stop when the run holds this many candidates");
  cmd->add_option("--db", o->t.db, "Tuning database (default .tessera/tune/<model>-<target>.db)");
  cmd->add_flag("--resume", o->t.resume, "Continue the database's last run as recorded");
  cmd->add_option("--seed", o->t.seed, "Search seed")->capture_default_str();
  cmd->add_option("--position", o->t.position, "Decode position the cost is for")->capture_default_str();
  cmd->add_option("--context", o->t.context, "KV positions of the tuned plans (default min(model context, 4096))");
  cmd->add_option("--start-knob", o->knobs, "The root candidate's knob key=value (repeatable; default: default knobs)");
  cmd->add_option("--space", o->space, "Search only these knobs, comma-separated (default: all)");
  cmd->add_flag("--structural", o->t.structural,
                "Also propose structural rewrites of the parent's plan (rebalance, reorder, retile, split_kv)");
  cmd->add_flag("--report", o->report, "Write a report of --db instead of tuning");
  cmd->add_option("--md", o->md, "--report/--sweep: markdown file to write (default: stdout)");
  cmd->add_option("--svg", o->svg, "--report: SVG chart of best-so-far over candidates");
  cmd->add_flag("--sweep", o->sweep, "Search-efficiency experiment: exhaustive sweep of --sweep-knobs, then each policy");
  cmd->add_option("--sweep-knobs", o->sweep_knobs, "--sweep: the knob subset, comma-separated");
  cmd->add_option("--sweep-seeds", o->sweep_seeds, "--sweep: seeds per policy")->capture_default_str();
  cmd->add_option("--sweep-policies", o->sweep_policies, "--sweep: policies, comma-separated")->capture_default_str();
  cmd->add_flag("--no-emulate", o->no_emulate, "--sweep: skip the emulator rung (say so when reporting)");
  cmd->add_option("--measure", o->measure,
                  "model: costs predicted by the cost model (default); gpu: verify each candidate against the "
                  "CPU reference on the GPU and time it (CUDA builds)")
      ->check(CLI::IsMember({"model", "gpu"}));
  cmd->add_option("--gpu-steps", o->gpu_steps, "--measure gpu: timed repetitions per candidate")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--agents", o->agents,
                  "none (default) or llm: the policy's mutations are drawn from LLM plan/code/debug agents with "
                  "probability --agent-rate (docs/AGENTS.md)")
      ->check(CLI::IsMember({"none", "llm"}));
  cmd->add_option("--agent-rate", o->t.agents.rate, "--agents llm: chance a mutation is drawn from the agents")
      ->capture_default_str();
  cmd->add_option("--agent-budget-calls", o->t.agents.budget_calls, "--agents llm: LLM calls in the run (0: no limit)");
  cmd->add_option("--agent-budget-tokens", o->t.agents.budget_tokens,
                  "--agents llm: tokens (in + out) in the run; no call starts once spent (0: no limit)");
  cmd->add_option("--variant", o->variant,
                  "Tune an instruction's code instead of a plan: the variant library entry (matvec_bf16) whose CUDA "
                  "source the LLM agents rewrite; each candidate passes the static, compile and run gates and is timed "
                  "on the GPU against the best (needs --agents llm, NVRTC and a CUDA device)");
  add_llm_flags(cmd, o->llm);
  cmd->callback([o, cmd] {
    if (!o->variant.empty()) {
      for (const char* flag : {"--model", "--shape", "--target", "--start-knob", "--space", "--structural", "--report",
                               "--sweep", "--position", "--context", "--measure", "--gpu-steps", "--md", "--svg"})
        if (cmd->count(flag) > 0)
          throw UsageError(fmt::format("tune --variant tunes one instruction's code on its own; {} does not apply", flag));
      if (!o->t.policy.empty() && o->t.policy != "stark")
        throw UsageError("tune --variant: the agents are the only operator, under the stark policy; drop --policy " +
                         o->t.policy);
      if (o->agents != "llm") throw UsageError("tune --variant: the LLM agents write the variants; give --agents llm");
      check_budgets(o->t);
      configure_agents(*cmd, o->agents, o->llm, o->t);
      VariantTuneOptions v;
      v.entry = o->variant;
      v.db = o->t.db;
      v.budget_minutes = o->t.budget_minutes;
      v.budget_candidates = o->t.budget_candidates;
      v.resume = o->t.resume;
      v.seed = o->t.seed;
      v.agents = o->t.agents;
      const variants::VariantSpec& spec = variants::variant_spec(v.entry);
      auto judge = make_gate_judge(spec, variants::EvaluateOptions{});
      const VariantTuneResult r = run_variant_tune(v, *judge, stderr);
      fmt::print("run:        {}\n", r.run);
      fmt::print("candidates: {} in the run, {} evaluated now, {} kept\n", r.total, r.evaluated, r.kept);
      fmt::print("stopped:    {}\n", r.stop_reason);
      fmt::print("agents:     {} LLM calls in the run ({} failed now), {} tokens, {} proposals now\n", r.agents.calls,
                 r.agents.failed_calls, r.agents.tokens, r.agents.proposals);
      if (r.best && r.root) {
        fmt::print("best:       candidate {}, {:.2f} us (measured at {}x{}), {:.3f}x the reference variant's {:.2f} us\n",
                   r.best->id, r.best->cost_s * 1e6, spec.time_shape.rows, spec.time_shape.cols,
                   r.root->cost_s > 0 ? r.best->cost_s / r.root->cost_s : 0.0, r.root->cost_s * 1e6);
        fmt::print("best source: {}\n", r.best_source_path);
      }
      return;
    }
    if (o->report && o->sweep) throw UsageError("tune: --report and --sweep are separate modes; give one");
    if (o->report) {
      if (o->t.db.empty()) throw UsageError("tune --report: give --db FILE");
      if (!o->t.model_path.empty() || !o->t.shape.empty() || o->t.resume)
        throw UsageError("tune --report renders an existing database; drop --model/--shape/--resume");
      TuneStore store(o->t.db, false);
      const std::string md = tune_report_markdown(store);
      if (o->md.empty()) fmt::print("{}", md);
      else write_text(o->md, md);
      if (!o->svg.empty()) write_text(o->svg, tune_report_svg(store));
      return;
    }
    if (!o->md.empty() && !o->sweep) throw UsageError("tune: --md applies to --report and --sweep");
    // --measure gpu, for a tuning run and for the sweep alike: the model the GPU runs (its
    // weights rounded to bf16 so the reference sees exactly what the GPU runs) and the
    // measurer that verifies and times each candidate on it.
    if (o->sweep && !o->t.model_path.empty())
      throw UsageError("tune --sweep: give a built-in --shape (the space is swept on its config)");
    if (o->sweep && o->t.shape.empty()) o->t.shape = SweepOptions{}.shape;
    Measurer* measurer = nullptr;
    std::unique_ptr<GpuTuningMeasurer> gpu;
    if (o->measure == "gpu") {
      gpu = make_gpu_tuning_measurer(o->t.shape, o->t.model_path, o->t.position, o->gpu_steps, "tune");
      measurer = &gpu->measurer();
    }
    if (!o->svg.empty()) throw UsageError("tune: --svg applies to --report");
    if (o->sweep) {
      SweepOptions so;
      so.shape = o->t.shape;
      if (!o->t.target.empty()) so.target = o->t.target;
      so.keys = split_commas(o->sweep_knobs);
      so.policies = split_commas(o->sweep_policies);
      so.seeds = o->sweep_seeds;
      so.position = o->t.position;
      so.start_knobs = o->knobs;
      so.emulate = !o->no_emulate;
      so.context = o->t.context;
      so.measurer = measurer;
      for (const std::string& p : so.policies) (void)make_policy(p, {});
      SweepResult r = run_sweep(so, stderr);
      const std::string md = sweep_markdown(r, so);
      if (o->md.empty()) fmt::print("{}", md);
      else write_text(o->md, md);
      return;
    }
    if (o->no_emulate) throw UsageError("tune: --no-emulate applies to --sweep only (a tuning run always emulates)");
    configure_agents(*cmd, o->agents, o->llm, o->t);
    if (o->t.structural && o->t.policy.rfind("pareto", 0) == 0)
      throw UsageError("tune --structural: the pareto policy varies knob sets only (each instruction kind's knobs); "
                       "use stark or evolve with structural rewrites");
    check_budgets(o->t);
    o->t.start_knobs = o->knobs;
    o->t.space_keys = split_commas(o->space);
    if (!o->t.policy.empty()) (void)make_policy(o->t.policy, {});
    TuneResult r = run_tune(o->t, measurer, stderr);
    fmt::print("run:        {}\n", r.run);
    fmt::print("candidates: {} in the run, {} evaluated now, {} kept\n", r.total, r.evaluated, r.kept);
    fmt::print("stopped:    {}\n", r.stop_reason);
    if (r.agents) {
      fmt::print("agents:     {} LLM calls in the run ({} failed now), {} tokens, {} proposals now{}\n", r.agents->calls,
                 r.agents->failed_calls, r.agents->tokens, r.agents->proposals,
                 r.agents->switched_off ? "; switched off after: " + r.agents->last_failure : std::string());
    }
    if (r.best) {
      fmt::print("best:       candidate {}, {:.4f} ms ({}), {:.2f}x the floor ({:.4f} ms, predicted from H100 ceilings)\n",
                 r.best->id, r.best->cost_s * 1e3, cost_kind_name(r.best->cost_kind), r.best->cost_s / r.floor_s,
                 r.floor_s * 1e3);
      fmt::print("best plan:  {}\n", r.best_plan_path);
    } else {
      fmt::print("best:       none (no candidate passed the ladder)\n");
      throw ExitCode{1};
    }
  });
}

const CommandRegistration kRegistered(75, add_tune);

}  // namespace

}  // namespace tessera::cli

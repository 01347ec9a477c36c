// tessera bench: times decode steps of GPU backends against the speed-of-light floor of
// the same run's measured ceilings (issue 6), and renders records into a markdown table and
// an SVG chart. Every flag is checked before the GPU is touched or a model is loaded, so a
// mistyped command fails in milliseconds, and --report works on any machine.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "bench/floor.h"
#include "bench/record.h"
#include "bench/stats.h"
#include "bench/svg_chart.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "emulate/shape_model.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "plan/plan_json.h"
#ifdef TESSERA_HAVE_CUDA
#include "cuda/bench_gpu.h"
#include "cuda/runtime.h"
#include "cuda/step_trace.h"
#include "cuda/timed_step.h"
#endif

namespace tessera::cli {
namespace {

const std::vector<std::string> kBackends = {"megakernel", "ops", "ops-graph"};

bool is_backend(const std::string& s) { return std::find(kBackends.begin(), kBackends.end(), s) != kBackends.end(); }

// One thing to time: a backend, and for the megakernel the plan file ("" = default lowering).
struct Entry {
  std::string backend;
  std::string plan;
  std::string plan_label() const { return plan.empty() ? "default" : plan; }
};

struct Opts {
  std::string model, shape;
  uint64_t seed = 0;
  std::vector<std::string> backends;
  std::string plan;
  std::string positions = "1";
  int steps = 100, warmup = 10;
  std::string json;
  std::vector<std::string> compare;
  std::vector<std::string> report;
  std::string md, svg;
  bool log_scale = false;
  std::string trace;  // prefix of the per-position Chrome traces of the megakernel
};

void write_text(const std::string& path, const std::string& text, const char* what) {
  std::ofstream out(path);
  if (!out) fail("bench: cannot write {} '{}'", what, path);
  out << text;
  if (!out) fail("bench: writing {} '{}' failed", what, path);
}

// Writes --md / --svg when given.
void render(const Opts& o, const std::vector<BenchRecord>& records) {
  if (!o.md.empty()) write_text(o.md, markdown_table(records), "markdown table");
  if (!o.svg.empty()) write_text(o.svg, svg_chart(records, {.log_scale = o.log_scale}), "SVG chart");
}

void run_report(const Opts& o) {
  if (!o.model.empty() || !o.shape.empty() || !o.compare.empty() || !o.backends.empty() || !o.plan.empty() ||
      !o.json.empty())
    throw UsageError("bench: --report renders existing records; it takes only --md, --svg and --log-scale");
  std::vector<BenchRecord> records;
  for (const std::string& path : o.report) {
    std::vector<BenchRecord> rs = read_records(path);
    records.insert(records.end(), rs.begin(), rs.end());
  }
  if (records.empty()) fail("bench: the records files hold no records");
  fmt::print("{}", markdown_table(records));
  render(o, records);
}

// The entries a measuring run times, from --backend / --compare / --plan; usage errors for
// anything inconsistent.
std::vector<Entry> entries_of(const Opts& o) {
  std::vector<Entry> entries;
  if (!o.compare.empty()) {
    if (!o.backends.empty()) throw UsageError("bench: --compare A B names what to time; drop --backend");
    if (o.compare.size() != 2) throw UsageError("bench: --compare takes exactly two backends or plan files");
    for (const std::string& c : o.compare) {
      if (is_backend(c)) entries.push_back({c, c == "megakernel" ? o.plan : ""});
      else if (std::filesystem::is_regular_file(c)) entries.push_back({"megakernel", c});
      else
        throw UsageError(fmt::format("bench: --compare '{}' is neither a backend (megakernel, ops, ops-graph) nor a plan file", c));
    }
  } else {
    std::vector<std::string> names = o.backends.empty() ? std::vector<std::string>{"megakernel"} : o.backends;
    for (const std::string& b : names) {
      if (!is_backend(b))
        throw UsageError(fmt::format("bench: unknown backend '{}' (expected megakernel, ops or ops-graph)", b));
      if (std::none_of(entries.begin(), entries.end(), [&](const Entry& e) { return e.backend == b; }))
        entries.push_back({b, b == "megakernel" ? o.plan : ""});
    }
  }
  if (!o.plan.empty() && std::none_of(entries.begin(), entries.end(), [&](const Entry& e) { return e.plan == o.plan; }))
    throw UsageError("bench: --plan applies to the megakernel backend only");
  return entries;
}

#ifdef TESSERA_HAVE_CUDA

struct Bench {
  const Opts& o;
  const Model& model;
  int context;  // of the default lowering and the ops backends
  GpuInfo gpu;
  Ceilings ceilings;
  std::unique_ptr<Plan> default_plan;
  std::map<std::string, std::unique_ptr<Plan>> plans;  // by file
  std::vector<BenchRecord> records;

  std::unique_ptr<TimedStep> make(const Entry& e) {
    if (e.backend != "megakernel") return make_timed_step(e.backend, model, nullptr, context);
    const Plan* plan = nullptr;
    if (!e.plan.empty()) {
      plan = plans.at(e.plan).get();
    } else {
      if (!default_plan) {
        Target target = target_preset(cuda_device_arch());
        target.sms = cuda_device_sms();
        LowerConfig knobs;
        knobs.sms = target.sms;
        default_plan = std::make_unique<Plan>(lower(model.config, target, knobs, context, model.source));
        fmt::print(stderr, "bench: lowered a default plan for {} ({} tasks on {} blocks, context {})\n", target.arch,
                   default_plan->tasks.size(), default_plan->queues.size(), context);
      }
      plan = default_plan.get();
    }
    return make_timed_step("megakernel", model, plan, context);
  }

  // Summarises, guards and records one measurement; a guard violation ends the command.
  Summary record(const Entry& e, int64_t pos, const Timing& t, const StepWork& work, const Floor& floor) {
    const Summary s = summarize(t.seconds);
    BenchRecord r;
    r.backend = e.backend;
    r.plan = e.plan_label();
    const std::string label = r.label();
    if (FloorVerdict v = check_floor(label, pos, s, floor.seconds); !v.ok) {
      fmt::print(stderr, "measurement error: {}\n", v.message);
      throw ExitCode{1};
    }
    r.date_utc = utc_now_iso8601();
    r.gpu = gpu;
    r.commit = build_commit();
    r.model = o.shape.empty() ? o.model : o.shape;
    r.model_source = o.shape.empty() ? "file" : "shape";
    r.seed = o.shape.empty() ? 0 : o.seed;
    r.position = pos;
    r.steps = int(t.seconds.size());
    r.l2_flushed = t.l2_flushed;
    r.median_ms = s.median * 1e3;
    r.min_ms = s.min * 1e3;
    r.max_ms = s.max * 1e3;
    r.floor_ms = floor.seconds * 1e3;
    r.ratio = s.median / floor.seconds;
    r.floor_bytes = work.bytes();
    r.floor_flops = work.flops();
    r.floor_bound = floor.bound();
    r.ceilings = ceilings;
    fmt::print("bench: {} {} pos {}: median {:.4f} ms (min {:.4f}, max {:.4f}, spread {:.1f}%) over {} steps{}; "
               "floor {:.4f} ms ({}-bound) -> {:.2f}x\n",
               r.label(), r.model, pos, r.median_ms, r.min_ms, r.max_ms, 100 * s.spread(), r.steps,
               t.l2_flushed ? ", L2 flushed" : "", r.floor_ms, r.floor_bound, r.ratio);
    std::fflush(stdout);
    records.push_back(r);
    return s;
  }
};

void run_measure(const Opts& o, const std::vector<Entry>& entries, const std::vector<int>& positions,
                 std::map<std::string, std::unique_ptr<Plan>> plans) {
  if (std::string why; !cuda_device_available(&why))
    fail("bench: no usable CUDA device ({}); only --report works without one", why);
  Model model = o.shape.empty() ? load_model_verbose(o.model) : shape_model(o.shape, o.seed);
  const int max_pos = *std::max_element(positions.begin(), positions.end());
  if (max_pos >= model.config.max_position_embeddings)
    throw UsageError(fmt::format("bench: position {} is not below the model's context {}", max_pos,
                                 model.config.max_position_embeddings));
  const int context = std::min(std::max(max_pos + 1, 16), model.config.max_position_embeddings);

  Bench b{o, model, context, read_gpu_info(), {}, nullptr, std::move(plans), {}};
  fmt::print("bench: {} (SM {} / {} MHz, memory {} / {} MHz as read, {}), driver {}, runtime {}, commit {}\n",
             b.gpu.name, b.gpu.sm_clock_mhz, b.gpu.sm_clock_max_mhz, b.gpu.mem_clock_mhz, b.gpu.mem_clock_max_mhz,
             b.gpu.clock_source, b.gpu.driver_version, b.gpu.runtime_version, build_commit());
  b.ceilings = measure_ceilings();
  fmt::print("bench: ceilings: copy {:.0f} GB/s ({}); matmul {:.1f} TFLOP/s ({})\n", b.ceilings.copy_gbps,
             b.ceilings.copy_method, b.ceilings.matmul_tflops, b.ceilings.matmul_method);
  std::fflush(stdout);

  auto floor_at = [&](int64_t pos) {
    const StepWork w = step_work(model.config, pos);
    return std::make_pair(w, floor_of(w, b.ceilings.copy_gbps * 1e9, b.ceilings.matmul_tflops * 1e12));
  };
  TimingOptions topt;
  topt.warmup = o.warmup;
  topt.steps = o.steps;

  if (!o.compare.empty()) {
    std::unique_ptr<TimedStep> a = b.make(entries[0]), c = b.make(entries[1]);
    for (int pos : positions) {
      const auto [work, floor] = floor_at(pos);
      topt.working_set_bytes = work.bytes();
      const Comparison cmp = compare(*a, *c, pos, topt);
      b.record(entries[0], pos, cmp.a, work, floor);
      b.record(entries[1], pos, cmp.b, work, floor);
      const Summary r = summarize(cmp.ratios);
      fmt::print("bench: compare {} / {} at pos {}: ratio median {:.4f} (p10 {:.4f}, p90 {:.4f}, min {:.4f}, max {:.4f}, "
                 "spread {:.1f}%) over {} interleaved pairs\n",
                 b.records[b.records.size() - 2].label(), b.records.back().label(), pos, r.median, r.p10, r.p90, r.min,
                 r.max, 100 * r.spread(), r.n);
    }
  } else {
    for (const Entry& e : entries) {
      std::unique_ptr<TimedStep> step = b.make(e);  // one backend's memory on the GPU at a time
      for (int pos : positions) {
        const auto [work, floor] = floor_at(pos);
        topt.working_set_bytes = work.bytes();
        b.record(e, pos, time_step(*step, pos, topt), work, floor);
        if (!o.trace.empty() && step->runner()) {
          const std::string path = fmt::format("{}.pos{}.json", o.trace, pos);
          const StepTimeline tl = trace_one_step(*step->runner(), pos, path);
          fmt::print("bench: traced one {} step at pos {} -> {}\n{}", e.backend, pos, path, tl.to_text());
          std::fflush(stdout);
        }
      }
    }
  }
  fmt::print("\n{}", markdown_table(b.records));
  if (!o.json.empty()) {
    write_records(o.json, b.records);
    fmt::print(stderr, "bench: wrote {} records to {}\n", b.records.size(), o.json);
  }
  render(o, b.records);
}

#endif  // TESSERA_HAVE_CUDA

void run(const Opts& o) {
  if (!o.report.empty()) return run_report(o);
  if (o.model.empty() == o.shape.empty())
    throw UsageError("bench: give exactly one of --model or --shape (or --report RECORDS.json to render records)");
  if (o.steps < 1) throw UsageError(fmt::format("bench: --steps {} must be at least 1", o.steps));
  if (o.warmup < 0) throw UsageError(fmt::format("bench: --warmup {} must not be negative", o.warmup));
  const std::vector<int> positions = parse_id_list(o.positions, "--positions");
  const std::vector<Entry> entries = entries_of(o);

  // Positions against every context known before loading anything large.
  std::map<std::string, std::unique_ptr<Plan>> plans;
  for (const Entry& e : entries) {
    if (e.plan.empty() || plans.count(e.plan)) continue;
    auto plan = std::make_unique<Plan>(load_plan(e.plan));
    for (int p : positions)
      if (p >= plan->context)
        throw UsageError(fmt::format("bench: position {} is not below the context {} of plan '{}'", p, plan->context, e.plan));
    plans[e.plan] = std::move(plan);
  }
  if (!o.shape.empty()) {
    const ModelConfig c = shape_config(o.shape);
    for (int p : positions)
      if (p >= c.max_position_embeddings)
        throw UsageError(fmt::format("bench: position {} is not below the context {} of shape '{}'", p,
                                     c.max_position_embeddings, o.shape));
  }
#ifdef TESSERA_HAVE_CUDA
  run_measure(o, entries, positions, std::move(plans));
#else
  fail("bench: this tessera was built without a CUDA toolkit, so it cannot time GPU backends; only --report "
       "works (rebuild where nvcc is on PATH)");
#endif
}

void add_bench(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("bench", "Time GPU decode steps against the speed-of-light floor; render reports");
  auto* m = cmd->add_option("--model", o->model, "Model: HF directory, .gguf file or llama2.c .bin");
  auto* s = cmd->add_option("--shape", o->shape, "Built-in shape with seeded random weights");
  m->excludes(s);
  cmd->add_option("--seed", o->seed, "Weight seed for --shape")->capture_default_str();
  cmd->add_option("--backend", o->backends, "megakernel, ops or ops-graph; repeat or comma-separate (default: megakernel)")
      ->delimiter(',');
  cmd->add_option("--plan", o->plan, "Plan JSON for the megakernel (default: lower the model for this GPU)");
  cmd->add_option("--positions", o->positions, "KV positions to time at, e.g. 1,512,4096")->capture_default_str();
  cmd->add_option("--steps", o->steps, "Timed repetitions per measurement")->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Untimed steps before timing")->capture_default_str();
  cmd->add_option("--json", o->json, "Write the records of this run (a JSON array)");
  cmd->add_option("--compare", o->compare, "Interleave two backends or plan files A B A B ... and report the ratio")
      ->expected(2);
  cmd->add_option("--report", o->report, "Render records files (no GPU needed): markdown to stdout, --md, --svg")
      ->expected(1, 1 << 20);
  cmd->add_option("--md", o->md, "Write the markdown table to this file");
  cmd->add_option("--svg", o->svg, "Write the SVG chart to this file");
  cmd->add_flag("--log-scale", o->log_scale, "SVG chart with a logarithmic ms axis");
  cmd->add_option("--trace", o->trace,
                  "After timing, trace one megakernel step per position: PREFIX.posP.json (Chrome trace) and a "
                  "stage summary (where the step's time went)");
  cmd->callback([o] { run(*o); });
}

const CommandRegistration kRegistered(75, add_bench);

}  // namespace
}  // namespace tessera::cli

// tessera fuzz-validator: the adversarial soundness suite (src/soundness/suite.h). Prints
// the per-class table; exits 1 after printing every false accept (oracle unsafe, validator
// accepted: a validator soundness bug), each with its plan saved for reproduction.
#include <fmt/format.h>

#include <fstream>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "plan/plan_json.h"
#include "soundness/suite.h"

namespace tessera::cli {

namespace {

void add_fuzz_validator(CLI::App& app) {
  struct Opts {
    size_t count = 1000;
    uint64_t seed = 1;
    int interleavings = 24;
    std::string json, save_dir;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("fuzz-validator", "Adversarial soundness suite: mutated and random plans, oracle vs validator");
  cmd->add_option("--count", o->count, "Plans to generate")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed (same seed, same plans)")->capture_default_str();
  cmd->add_option("--interleavings", o->interleavings, "Random schedules per position in the oracle")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--json", o->json, "Also write the statistics as JSON to this file");
  cmd->add_option("--save-dir", o->save_dir, "Write each false accept's plan here as <index>.json");
  cmd->callback([o] {
    soundness::SuiteOptions so;
    so.count = o->count;
    so.seed = o->seed;
    so.oracle.interleavings = o->interleavings;
    const soundness::SuiteResult r = soundness::run_suite(so);
    fmt::print("fuzz-validator: {} plans, seed {}, {:.1f} s\n\n{}", o->count, o->seed, r.seconds, r.table());
    const auto& total = r.classes.back();
    fmt::print("\nfalse accepts: {}   false rejects: {} of {} oracle-safe plans ({:.2f}%)\n", total.false_accepts,
               total.false_rejects, total.oracle_safe,
               total.oracle_safe ? 100.0 * double(total.false_rejects) / double(total.oracle_safe) : 0.0);
    fmt::print("oracle: {} schedules run ({:.0f}/s), {} plans explored exhaustively\n", total.oracle_executions,
               total.oracle_seconds > 0 ? double(total.oracle_executions) / total.oracle_seconds : 0.0, total.exhaustive);
    for (const auto& f : r.false_rejects)
      fmt::print("  false reject #{} [{} from {}]: {}\n", f.index, f.cls, f.base, f.validator);
    if (!o->json.empty()) {
      std::ofstream out(o->json);
      if (!out) throw Error(fmt::format("fuzz-validator: cannot write '{}'", o->json));
      out << r.to_json().dump(2) << "\n";
    }
    for (const auto& f : r.false_accepts) {
      fmt::print(stderr, "FALSE ACCEPT #{} [{} from {}]\n  oracle: {}\n", f.index, f.cls, f.base, f.oracle);
      if (!o->save_dir.empty()) {
        const std::string path = fmt::format("{}/{}.json", o->save_dir, f.index);
        save_plan(f.plan, path);
        fmt::print(stderr, "  plan: {}\n", path);
      } else {
        fmt::print(stderr, "  plan: {}\n", plan_to_json(f.plan));
      }
    }
    if (!r.false_accepts.empty()) throw ExitCode{1};
  });
}

const CommandRegistration kRegistered(65, add_fuzz_validator);

}  // namespace

}  // namespace tessera::cli

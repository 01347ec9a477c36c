// tessera variant-run (internal, hidden from --help): the child side of the run gate. The
// parent (src/variants/variant_runner.h) compiles a variant, writes the image to a file and
// runs this command in a separate process with a time limit; it answers one JSON line on
// stdout and exits 0 whatever the variant did, so anything else (a signal, a non-zero exit,
// no line, a malformed one) is the parent's sign that the child itself died. The work is
// run_variant_trials() in src/cuda/variant_launch.h; a build without CUDA answers
// "no_device".
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "core/error.h"
#include "variants/child_process.h"
#include "variants/variant_spec.h"

#ifdef TESSERA_HAVE_CUDA
#include "cuda/variant_launch.h"
#endif

namespace tessera::cli {

namespace {

void add_variant_run(CLI::App& app) {
  struct Opts {
    std::string entry = "matvec_bf16", image;
    uint64_t seed = 0;
    int trials_per_shape = 2;
    std::string time_against;
    int time_pairs = 30;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("variant-run", "Run gate child: run a compiled variant's trials, print one JSON line");
  cmd->group("");  // internal: the run gate's parent is its only caller
  cmd->add_option("--entry", o->entry, "Variant library entry")->capture_default_str();
  cmd->add_option("--image", o->image, "PTX or cubin of the entry's program (the compile gate's output)")->required();
  cmd->add_option("--seed", o->seed, "Seed of this check's inputs (the parent draws a fresh one per check)")->required();
  cmd->add_option("--trials-per-shape", o->trials_per_shape, "Trials per shape, each with fresh inputs")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  cmd->add_option("--time-against", o->time_against,
                  "After the trials, check at the entry's time shape and time the variant interleaved with this "
                  "image (the leader's PTX or cubin)");
  cmd->add_option("--time-pairs", o->time_pairs, "Timed pairs (variant, leader)")
      ->check(CLI::Range(3, 1000))
      ->capture_default_str();
  cmd->callback([o] {
    const variants::VariantSpec& spec = variants::variant_spec(o->entry);
    const std::string bytes = variants::read_bytes(o->image, "variant-run: the image");
    nlohmann::json result;
#ifdef TESSERA_HAVE_CUDA
    std::optional<cuda::VariantTiming> timing;
    if (!o->time_against.empty())
      timing = cuda::VariantTiming{variants::read_bytes(o->time_against, "variant-run: the leader's image"), o->time_pairs};
    result = cuda::run_variant_trials(bytes, spec, o->seed, o->trials_per_shape, timing ? &*timing : nullptr);
#else
    result = {{"status", "no_device"}, {"reason", "no CUDA device: this tessera was built without CUDA"}};
#endif
    result["entry"] = spec.name;
    fmt::print("{}\n", result.dump());
    std::fflush(stdout);
  });
}

const CommandRegistration kRegistered(95, add_variant_run);

}  // namespace

}  // namespace tessera::cli

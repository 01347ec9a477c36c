// tessera variant-compile (internal, hidden from --help): the child side of the isolated
// compile gate (src/variants/variant_compile_isolated.h). Compiles one variant source with
// NVRTC and writes result.json, variant.ptx and variant.cubin into --out; the parent runs it
// with a time limit, so a compiler that hangs or dies on agent-written source costs one
// candidate. A gate that cannot run (no NVRTC) exits 1 with the reason, as the in-process
// gate would throw.
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "variants/variant_compile.h"
#include "variants/variant_compile_isolated.h"
#include "variants/child_process.h"
#include "variants/variant_spec.h"

namespace tessera::cli {

namespace {

void add_variant_compile(CLI::App& app) {
  struct Opts {
    std::string entry = "matvec_bf16", source, out;
    variants::CompileOptions compile;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("variant-compile", "Compile gate child: compile a variant, write the result to a directory");
  cmd->group("");  // internal: the isolated compile gate is its only caller
  cmd->add_option("--entry", o->entry, "Variant library entry")->capture_default_str();
  cmd->add_option("--source", o->source, "The variant's source file")->required();
  cmd->add_option("--arch", o->compile.arch, "Real architecture, e.g. sm_80")->capture_default_str();
  cmd->add_option("--variants-dir", o->compile.variants_dir, "The variant library's directory")->capture_default_str();
  cmd->add_option("--out", o->out, "Directory for result.json, variant.ptx and variant.cubin")->required();
  cmd->callback([o] {
    const variants::VariantSpec& spec = variants::variant_spec(o->entry);
    const std::string bytes = variants::read_bytes(o->source, "variant-compile: the source");
    variants::write_compile_result(variants::compile_variant(bytes, spec, o->compile), o->out);
  });
}

const CommandRegistration kRegistered(96, add_variant_compile);

}  // namespace

}  // namespace tessera::cli

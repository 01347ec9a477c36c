// The compile gate in a child process: `tessera variant-compile` runs compile_variant()
// (variant_compile.h) on the source in a process of its own with a wall-clock limit, as
// the run gate runs trials (variant_runner.h). NVRTC's front end and ptxas see source an
// agent wrote; a pathological program (deep template recursion, a huge constexpr loop)
// can make them run for minutes or die, and that must cost one candidate, not the tuning
// run or the agent session that asked.
#pragma once

#include <string>

#include "variants/variant_compile.h"
#include "variants/variant_spec.h"

namespace tessera::variants {

struct IsolatedCompileOptions {
  std::string tessera_binary;  // empty: this process's executable
  double timeout_s = 60;
};

// The child's result, as compile_variant's. A child killed at the time limit or by a
// signal gives a rejection (ok false) whose diagnostic says so; a child that exits with an
// error (the gate itself could not run: no NVRTC, headers missing) throws tessera::Error
// with its message, as compile_variant would have.
CompileResult compile_variant_isolated(const std::string& variant_source, const VariantSpec& spec,
                                       const CompileOptions& options, const IsolatedCompileOptions& isolation);

// The child side: compiles `source_file` and writes the result to `out_dir` (result.json,
// variant.ptx, variant.cubin). Exposed for the `variant-compile` command.
void write_compile_result(const CompileResult& r, const std::string& out_dir);

}  // namespace tessera::variants

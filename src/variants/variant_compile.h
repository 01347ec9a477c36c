// The compile gate: NVRTC builds the entry's prelude, the variant and the harness's
// __global__ wrapper as one program, for one real architecture, with no include paths:
// the only headers reachable are the toolkit's half-precision headers (cuda_fp16.h,
// cuda_bf16.h, cuda_fp8.h and their .hpp parts), handed to NVRTC from memory because
// CUDA 13's NVRTC has none of them built in. An #include of anything else in the variant
// is refused before NVRTC runs: NVRTC itself would open an absolute path from the disk.
// Compiling to a cubin runs ptxas, so a call to a function with no definition (a host
// function the static gate's deny-list misses, declared __device__ to get past the
// front end) fails here with "Unresolved extern function": there is nothing to link with.
//
// The result keeps the PTX as well as the cubin: the run gate's child loads the PTX and
// lets the driver compile it for whatever device it has, so the parent never needs to
// know the GPU. NVRTC is linked only when the build found a CUDA toolkit; without one
// nvrtc_available() says so and compile_variant() throws.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "variants/variant_spec.h"

namespace tessera::variants {

struct CompileDiagnostic {
  std::string file;  // "variant" (lines are the variant source's own), "harness", "ptxas" or "nvrtc"
  int line = 0;      // 1-based; 0 when the message has no line
  std::string severity;  // "error" or "warning"
  std::string message;
};

struct CompileResult {
  bool ok = false;
  std::string arch;                 // e.g. "sm_80"
  std::vector<CompileDiagnostic> diagnostics;  // errors first, as NVRTC reported them
  std::string log;                  // NVRTC's whole log
  std::string ptx, cubin;           // when ok
  double seconds = 0;
  std::string summary() const;      // one "variant line N: message" per error
};

struct CompileOptions {
  // A real architecture: the cubin proves the program links; "sm_80" gives PTX any
  // Ampere-or-later device can JIT.
  std::string arch = "sm_80";
  std::string variants_dir = default_variants_dir();
};

// Whether this build can compile variants; `why` says why not.
bool nvrtc_available(std::string* why = nullptr);

// Compiles `variant_source` for `spec`. Compile errors come back in the result (ok false);
// throws tessera::Error only when the gate itself cannot run (no NVRTC, headers missing).
CompileResult compile_variant(const std::string& variant_source, const VariantSpec& spec,
                              const CompileOptions& options = {});

// The #include directives of `source` whose header is not in `allowed`: (line, message).
// Exposed for tests; compile_variant reports them as diagnostics without running NVRTC.
std::vector<CompileDiagnostic> disallowed_includes(const std::string& source, const std::vector<std::string>& allowed);

// Splits an NVRTC log into diagnostics (file names as in CompileDiagnostic::file).
std::vector<CompileDiagnostic> parse_nvrtc_log(const std::string& log);

// [{"file", "line", "severity", "message"}, ...]: how gate reports and the compile gate's
// child write diagnostics.
nlohmann::json diagnostics_json(const std::vector<CompileDiagnostic>& diagnostics);

}  // namespace tessera::variants

// The variant library: each entry is one concrete instruction an agent may rewrite, with
// everything the gates need fixed by the harness rather than by the variant: the entry
// function's name and parameter list (the static gate's policy), the header prelude and
// the __global__ wrapper NVRTC compiles around it, the launch shape, the shapes the run
// gate tries and the tolerance it compares with. The sources live in files under
// variants/ (the reference variant an agent starts from, and the wrapper), read at run
// time like the prompts; $TESSERA_VARIANTS_DIR overrides the directory.
#pragma once

#include <string>
#include <vector>

#include "agents/variant_guard.h"

namespace tessera::variants {

struct VariantShape {
  int rows = 0;
  int cols = 0;
};

struct VariantSpec {
  std::string name;              // "matvec_bf16"
  std::string entry;             // the variant's __device__ function
  std::string signature;         // its parameter list, as the static gate compares it
  std::string kernel;            // the harness's extern "C" __global__ wrapper
  std::string prelude;           // compiled before the variant (the headers its signature needs)
  std::string reference_file;    // under the variants directory: the default variant
  std::string harness_file;      // under the variants directory: the wrapper
  std::string contract;          // what the variant must compute, for agents (one paragraph)
  int tile_rows = 0;             // rows per block
  int threads = 0;               // threads per block
  std::vector<VariantShape> shapes;  // every run-gate check tries each (at least two)
  // The shape a timed check (RunGateOptions::time_against) runs at: a model's real matrix,
  // larger than L2, so the time is the instruction's at the size a decode step streams. It
  // is checked against the twin like the trial shapes before it is timed.
  VariantShape time_shape;
  // |y - twin| <= atol + rtol * sum_c |w[r,c] * x[c]|. fp32 sums in any order land within
  // about sqrt(cols) * 2^-24 of that sum, far inside; rounding x, the products or the
  // accumulator to bf16 (2^-9 each) lands far outside.
  double rtol = 0;
  double atol = 0;
};

// The entries, by name.
const std::vector<VariantSpec>& variant_library();
// The entry called `name`; throws naming the known entries.
const VariantSpec& variant_spec(const std::string& name);

// The static gate's policy for an entry: its function name and parameter list.
agents::VariantGuardPolicy guard_policy(const VariantSpec& spec);

std::string default_variants_dir();
// The entry's reference variant and wrapper source, read from `dir` (throws naming the path).
std::string reference_source(const VariantSpec& spec, const std::string& dir = default_variants_dir());
std::string harness_source(const VariantSpec& spec, const std::string& dir = default_variants_dir());

}  // namespace tessera::variants

// The variant library's entries (see variant_spec.h). One entry today, the bf16 matvec
// row tile, the instruction every decode step spends most of its time in.
#include "variants/variant_spec.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

#ifndef TESSERA_VARIANTS_DIR
#define TESSERA_VARIANTS_DIR "variants"
#endif

namespace tessera::variants {

namespace {

VariantSpec matvec_bf16() {
  VariantSpec s;
  s.name = "matvec_bf16";
  s.entry = "tessera_variant";
  s.signature = "const __nv_bfloat16* w, const float* x, float* y, int rows, int cols";
  s.kernel = "tessera_harness_matvec_bf16";
  s.prelude = "#include <cuda_bf16.h>\n";
  s.reference_file = "matvec_bf16.cu";
  s.harness_file = "matvec_bf16.harness.cu";
  s.contract =
      "y[r] = sum over c in [0, cols) of float(w[r*cols + c]) * x[c], for every r in [0, rows), computed by all "
      "blockDim.x threads of the block; w is row-major bf16 (rows only 2-byte aligned when cols is odd), x and y "
      "fp32; any rows >= 1 and cols >= 1; write y[0..rows) and nothing else, never write w or x";
  s.tile_rows = 16;
  s.threads = 128;
  // A tile-aligned power-of-two shape, then one with a short last tile and an odd width.
  s.shapes = {{128, 512}, {75, 1031}};
  // Llama-3-8B's gate projection: 14336 x 4096 bf16, 117 MB, over twice an H100's L2.
  s.time_shape = {14336, 4096};
  s.rtol = 1e-5;
  s.atol = 1e-6;
  return s;
}

std::string read_entry_file(const std::string& dir, const std::string& name) {
  const std::filesystem::path path = std::filesystem::path(dir) / name;
  std::ifstream in(path);
  if (!in) fail("variant source '{}' not found (variants directory '{}'; set TESSERA_VARIANTS_DIR)", path.string(), dir);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

const std::vector<VariantSpec>& variant_library() {
  static const std::vector<VariantSpec> lib{matvec_bf16()};
  return lib;
}

const VariantSpec& variant_spec(const std::string& name) {
  std::string known;
  for (const VariantSpec& s : variant_library()) {
    if (s.name == name) return s;
    known += (known.empty() ? "" : ", ") + s.name;
  }
  fail("unknown variant entry '{}' (known: {})", name, known);
}

agents::VariantGuardPolicy guard_policy(const VariantSpec& spec) {
  agents::VariantGuardPolicy p;
  p.entry = spec.entry;
  p.signature = spec.signature;
  return p;
}

std::string default_variants_dir() {
  if (const char* env = std::getenv("TESSERA_VARIANTS_DIR"); env && *env) return env;
  return TESSERA_VARIANTS_DIR;
}

std::string reference_source(const VariantSpec& spec, const std::string& dir) {
  return read_entry_file(dir, spec.reference_file);
}

std::string harness_source(const VariantSpec& spec, const std::string& dir) {
  return read_entry_file(dir, spec.harness_file);
}

}  // namespace tessera::variants

// One run-gate trial of the bf16 matvec entry, host side: the inputs (fresh, seeded
// random), the device arena they travel in, and the check of what came back. It is
// plain CPU code, so every check is tested without a GPU by tampering with an arena;
// the device side (src/cuda/variant_launch.cpp) only copies the arena up, launches and
// copies it back.
//
// The arena is one allocation holding w, x and y, each with guard bytes before and
// after, and everything else in the allocation (up to a 2 MiB boundary, cudaMalloc's
// granularity) guard too, so any write inside the allocation but outside y is seen.
// Guard bytes are seeded random rather than a constant, so a variant cannot restore a
// pattern it overwrote without reading it first; y starts as a NaN bit pattern, so an
// output left unwritten (or a copy of an input) cannot match the twin.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "variants/variant_spec.h"

namespace tessera::variants {

inline constexpr uint32_t kPoisonF32 = 0x7fc0dead;  // a NaN no arithmetic produces
inline constexpr size_t kGuardBytes = 4096;
inline constexpr size_t kArenaGranule = size_t(2) << 20;

// y[r] = sum_c float(w[r*cols + c]) * x[c], accumulated in fp32 in column order: the spec.
std::vector<float> matvec_bf16_twin(const std::vector<uint16_t>& w, const std::vector<float>& x, int rows, int cols);

struct ArenaLayout {
  size_t w_off = 0, x_off = 0, y_off = 0;        // byte offsets of the three buffers
  size_t w_bytes = 0, x_bytes = 0, y_bytes = 0;
  size_t total = 0;                              // a multiple of kArenaGranule
};
ArenaLayout arena_layout(const VariantShape& shape);

struct Trial {
  VariantShape shape;
  uint64_t seed = 0;
  std::vector<uint16_t> w;  // rows x cols bf16 bits, uniform in [-1, 1)
  std::vector<float> x;     // cols, uniform in [-1, 1)
  ArenaLayout layout;
  std::vector<uint8_t> arena;  // what goes up: guards, w, x, poisoned y
};
// Throws for a shape with rows or cols < 1.
Trial make_trial(const VariantShape& shape, uint64_t seed);

struct TrialReport {
  VariantShape shape;
  uint64_t seed = 0;
  int64_t unwritten = 0;    // y elements still holding the poison
  int64_t mismatches = 0;   // y elements outside the tolerance (unwritten included)
  int64_t first_bad_row = -1;
  double first_bad_got = 0, first_bad_want = 0, first_bad_tolerance = 0;
  double max_error = 0;     // over written, finite elements
  int64_t guard_bytes_changed = 0;
  std::string first_guard_hit;  // e.g. "1 bytes after y": where the first changed guard byte is
  int64_t w_bytes_changed = 0, x_bytes_changed = 0;
  bool passed() const;
  std::string reason() const;  // empty when passed: the first failure, in words
  nlohmann::json to_json() const;
};

// Compares the arena that came back with what went up and with the twin.
TrialReport check_trial(const Trial& trial, const std::vector<uint8_t>& after, const VariantSpec& spec);

// Seeds for the trials of one run-gate check: `count` distinct values from `seed`.
std::vector<uint64_t> trial_seeds(uint64_t seed, int count);

}  // namespace tessera::variants

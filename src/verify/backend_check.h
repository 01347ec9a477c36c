// Checks a decode backend (emulator, CUDA megakernel) against the CPU reference engine on
// the same model: the reference runs the prompt and then greedy steps; the backend is fed
// the same tokens (teacher-forced), so its error is measured per position and a divergence
// at one step cannot cascade. Per position the error is max|b - r| / max|r| (relative to
// the logits' scale), and the backend's argmax must equal the reference's unless the
// reference's top-2 margin, relative to max|r|, is below the tolerance (a near-tie that
// bf16 rounding may legitimately flip; every such case is reported).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "model/model.h"

namespace tessera {

struct BackendCheckOptions {
  std::vector<int> prompt;  // at least one token
  int steps = 64;           // greedy steps after the prompt
  double tolerance = 1e-5;  // relative logit error bound
  int engine_threads = 0;
};

struct PositionCheck {
  int input = 0;                 // token fed at this position
  int reference_token = 0;       // the reference's argmax
  int backend_token = 0;         // the backend's argmax
  double rel_error = 0;
  double reference_margin = 0;   // (top1 - top2) / max|r|
};

struct BackendCheck {
  std::vector<PositionCheck> positions;
  double reference_ms_per_step = 0, backend_ms_per_step = 0;
  double max_rel_error() const;
  int mismatches() const;           // argmax differs
  int unexplained_mismatches(double tolerance) const;  // differs with a margin >= tolerance
  bool passed(double tolerance) const;
  std::string summary(double tolerance) const;  // multi-line, for people
};

BackendCheck check_backend(const Model& model, DecodeBackend& backend,
                           const BackendCheckOptions& options);

}  // namespace tessera

// THROWAWAY: lets the bench branch link before the ops backend (branch `ops`, which
// implements make_ops_step in src/cuda/ops/) is merged. The lead deletes this file at merge.
#include "core/error.h"
#include "cuda/timed_step.h"

namespace tessera {

std::unique_ptr<TimedStep> make_ops_step(const Model&, int, bool graph) {
  fail("{} backend: ops backend not merged yet", graph ? "ops-graph" : "ops");
}

}  // namespace tessera

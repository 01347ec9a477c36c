// Rules "resources" and "co-residency": a persistent megakernel deadlocks if a block
// waits on a block that never got a slot on the GPU, so every block must be resident at
// once, and a block whose resources exceed the target would not launch at all.
#include <fmt/format.h>

#include "validate/passes.h"

namespace tessera::validate {

void check_resources(const Plan& plan, Sink& sink) {
  const Target& t = plan.target;
  const Resources& r = plan.resources;
  bool sane = true;
  auto target_at_least = [&](int64_t value, int64_t min, const char* what) {
    if (value < min) {
      sink.add("resources", fmt::format("target {}: {} is {} (must be at least {})", t.arch, what, value, min));
      sane = false;
    }
  };
  target_at_least(t.sms, 1, "sms");
  target_at_least(t.max_blocks_per_sm, 1, "max_blocks_per_sm");
  target_at_least(t.smem_per_block, 0, "smem_per_block");
  target_at_least(t.regs_per_thread, 1, "regs_per_thread");
  target_at_least(t.threads_per_block, 1, "threads_per_block");

  auto fits = [&](int64_t need, int64_t min, int64_t have, const char* what) {
    if (need < min || need > have)
      sink.add("resources", fmt::format("plan: {} per block is {}, the target {} allows [{}, {}]", what, need, t.arch,
                                        min, have));
  };
  fits(r.smem_bytes, 0, t.smem_per_block, "shared memory (bytes)");
  fits(r.threads, 1, t.threads_per_block, "threads");
  fits(r.regs_per_thread, 1, t.regs_per_thread, "registers per thread");
  if (r.rows_per_warp != 1 && r.rows_per_warp != 2)
    sink.add("resources", fmt::format("plan: rows_per_warp is {}; the matvec streams 1 or 2 weight rows per warp",
                                      r.rows_per_warp));

  if (!sane) return;
  const int64_t slots = int64_t(t.sms) * int64_t(t.max_blocks_per_sm);
  if (int64_t(plan.queues.size()) > slots)
    sink.add("co-residency", fmt::format("plan: {} blocks cannot all be resident on target {} ({} SMs x {} blocks "
                                         "per SM = {}); a block waiting on one not yet launched would never proceed",
                                         plan.queues.size(), t.arch, t.sms, t.max_blocks_per_sm, slots));
}

}  // namespace tessera::validate

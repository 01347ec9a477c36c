// The device side of the run gate, run only inside the `tessera variant-run` child: load
// the compiled variant with the CUDA runtime's library API (cudaLibraryLoadData, so no
// libcuda link is needed; PTX is compiled by the driver for whatever device this is), run
// the entry's trials and judge them with the host-side checks of
// variants/matvec_bf16_trial.h. Its answer is the JSON line the parent reads.
//
// A fault leaves the CUDA context unusable, so the first one ends the run with status
// "fault"; the parent's process isolation is what makes that survivable.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "variants/variant_spec.h"

namespace tessera::cuda {

// A timed check: after the trials pass, the variant is checked once more at the entry's
// time_shape, then timed there interleaved with `leader_image` (the search's current best,
// or the variant itself for a run's first candidate): `pairs` pairs, the order inside a
// pair alternating, each launch timed alone with events. Interleaving is what makes the
// ratio trustworthy: clocks and temperature drift between two solo runs by as much as
// the differences a search looks for.
struct VariantTiming {
  std::string leader_image;
  int pairs = 30;
};

// status: "pass", "fail" (a trial's check failed; reason names it), "fault" (a launch or
// the kernel failed), "load_failed" (the image would not load or lacks the kernel),
// "no_device". Never throws for the variant's misbehaviour. With `timing`, a pass also
// carries "timing": {shape, pairs, candidate_median_s, candidate_spread, leader_median_s,
// ratio_median, ratio_p10, ratio_p90, weight_bytes}.
nlohmann::json run_variant_trials(const std::string& image, const variants::VariantSpec& spec, uint64_t seed,
                                  int trials_per_shape, const VariantTiming* timing = nullptr);

}  // namespace tessera::cuda

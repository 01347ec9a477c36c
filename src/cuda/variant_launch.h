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

// status: "pass", "fail" (a trial's check failed; reason names it), "fault" (a launch or
// the kernel failed), "load_failed" (the image would not load or lacks the kernel),
// "no_device". Never throws for the variant's misbehaviour.
nlohmann::json run_variant_trials(const std::string& image, const variants::VariantSpec& spec, uint64_t seed,
                                  int trials_per_shape);

}  // namespace tessera::cuda

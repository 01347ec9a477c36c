// Summaries of timing samples and the floor guard. Medians, not means: a decode step's
// time distribution has a long right tail (clock ramps, a preempting context), and one
// slow repetition must not move the reported figure. The guard compares the MINIMUM with
// the floor because a single repetition faster than physics proves the timing is broken
// (a kernel that skipped its work, events recorded on the wrong stream) even when the
// median looks plausible.
#pragma once

#include <string>
#include <vector>

namespace tessera {

struct Summary {
  int n = 0;
  double median = 0, min = 0, max = 0;
  double p10 = 0, p90 = 0;  // nearest-rank percentiles
  // Relative spread: (p90 - p10) / median. Robust to one outlier, unlike (max-min).
  double spread() const { return median != 0 ? (p90 - p10) / median : 0; }
};

// Throws tessera::Error for no samples or a non-finite one (naming its index).
Summary summarize(std::vector<double> samples);

struct FloorVerdict {
  bool ok = true;
  std::string message;  // empty when ok; otherwise names backend, position, time and floor
};

// A result is a measurement error when its fastest sample is below the floor, or when any
// sample is not a positive number. Times in seconds.
FloorVerdict check_floor(const std::string& backend, long long pos, const Summary& seconds,
                         double floor_seconds);

}  // namespace tessera

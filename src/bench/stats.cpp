// Percentiles by nearest rank on a sorted copy: exact for the sample sizes bench uses
// (tens to thousands) and free of interpolation choices a reader would have to look up.
#include "bench/stats.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace tessera {

namespace {

double nearest_rank(const std::vector<double>& sorted, double q) {
  const size_t n = sorted.size();
  size_t rank = size_t(std::ceil(q * double(n)));
  rank = std::clamp<size_t>(rank, 1, n);
  return sorted[rank - 1];
}

}  // namespace

Summary summarize(std::vector<double> samples) {
  if (samples.empty()) fail("summarize: no samples");
  for (size_t i = 0; i < samples.size(); ++i)
    if (!std::isfinite(samples[i])) fail("summarize: sample {} is {}", i, samples[i]);
  std::sort(samples.begin(), samples.end());
  Summary s;
  s.n = int(samples.size());
  s.min = samples.front();
  s.max = samples.back();
  const size_t n = samples.size();
  s.median = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  s.p10 = nearest_rank(samples, 0.10);
  s.p90 = nearest_rank(samples, 0.90);
  return s;
}

FloorVerdict check_floor(const std::string& backend, long long pos, const Summary& seconds,
                         double floor_seconds) {
  FloorVerdict v;
  if (!(floor_seconds > 0)) {
    v.ok = false;
    v.message = fmt::format("{} at position {}: the floor {} s is not positive, so nothing can be checked against it",
                            backend, pos, floor_seconds);
  } else if (seconds.n <= 0 || !(seconds.min > 0)) {
    v.ok = false;
    v.message = fmt::format("{} at position {}: fastest step {} ms is not a positive time", backend, pos,
                            seconds.min * 1e3);
  } else if (seconds.min < floor_seconds) {
    v.ok = false;
    v.message = fmt::format(
        "{} at position {}: fastest step {:.4f} ms (median {:.4f} ms) is below the floor {:.4f} ms "
        "({:.2f}x of it); the step cannot have done its work, or the timing is broken",
        backend, pos, seconds.min * 1e3, seconds.median * 1e3, floor_seconds * 1e3, seconds.min / floor_seconds);
  }
  return v;
}

}  // namespace tessera

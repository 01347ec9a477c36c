// Which elements of a buffer a set of boxes covers. Boxes are flattened to row-major
// offset ranges ("runs"): a box whose trailing dimensions are whole is one run, and the
// boxes the opcodes produce (tiles of whole rows, heads x splits x head_dim) are a few
// runs each, so a sorted map of disjoint runs answers "is this box covered" exactly in
// O(runs log n) without touching individual elements.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "plan/plan.h"

namespace tessera::validate {

// Calls f(begin, end) for each row-major run of `r` restricted to dimensions
// [first_dim, rank) of `shape`, bounds evaluated at `pos`. Nothing when the box is empty.
void for_each_run(const Region& r, const std::vector<int64_t>& shape, size_t first_dim, int64_t pos,
                  const std::function<void(int64_t, int64_t)>& f);

// A union of half-open ranges, kept merged.
class RangeUnion {
 public:
  void add(int64_t lo, int64_t hi);
  // The first sub-range of [lo, hi) not covered, or nullopt when all of it is.
  std::optional<std::pair<int64_t, int64_t>> first_gap(int64_t lo, int64_t hi) const;

 private:
  std::map<int64_t, int64_t> runs_;  // lo -> hi, disjoint and non-adjacent
};

}  // namespace tessera::validate

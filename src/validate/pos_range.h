// Regions are boxes whose bounds are affine in pos, so every question the validator asks
// about them ("is this box non-empty for some pos?", "do these two boxes meet for some
// pos?") is a conjunction of linear inequalities in one integer variable. Solving them
// exactly gives the set of pos as one range, with no per-pos loop and no false answers.
#pragma once

#include <cstdint>

#include "plan/plan.h"

namespace tessera::validate {

// The pos values in [0, context) that satisfy every constraint added so far.
class PosSet {
 public:
  explicit PosSet(int64_t context) : lo_(0), hi_(__int128(context) - 1) {}
  void less(const Affine& a, const Affine& b);     // a(p) < b(p)
  void less(const Affine& a, __int128 bound);      // a(p) < bound
  void less_eq(const Affine& a, const Affine& b);  // a(p) <= b(p)
  void nonempty(const Interval& i);                // lo(p) < min(hi(p), cap)
  void overlap(const Interval& x, const Interval& y);
  bool empty() const { return lo_ > hi_; }
  int64_t first() const { return int64_t(lo_); }
  int64_t last() const { return int64_t(hi_); }

 private:
  void at_most(__int128 k, __int128 d);  // k * p <= d
  __int128 lo_, hi_;
};

// The pos values at which every dimension of `r` is non-empty.
PosSet region_nonempty(const Region& r, int64_t context);
// The pos values at which regions `a` and `b` (same buffer, same rank) share an element.
PosSet regions_overlap(const Region& a, const Region& b, int64_t context);

}  // namespace tessera::validate

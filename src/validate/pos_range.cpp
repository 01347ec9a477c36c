// Exact solution of linear constraints in pos (see pos_range.h). 128-bit arithmetic keeps
// every intermediate exact for any int64 bounds a plan file can hold.
#include "validate/pos_range.h"

namespace tessera::validate {

namespace {
__int128 floor_div(__int128 a, __int128 b) {
  __int128 q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
__int128 ceil_div(__int128 a, __int128 b) { return -floor_div(-a, b); }
}  // namespace

void PosSet::at_most(__int128 k, __int128 d) {
  if (k == 0) {
    if (d < 0) hi_ = lo_ - 1;
  } else if (k > 0) {
    __int128 m = floor_div(d, k);
    if (m < hi_) hi_ = m;
  } else {
    __int128 m = ceil_div(d, k);
    if (m > lo_) lo_ = m;
  }
}

// a.c + a.pos*p < b.c + b.pos*p  <=>  (a.pos - b.pos)*p <= b.c - a.c - 1
void PosSet::less(const Affine& a, const Affine& b) {
  at_most(__int128(a.pos) - b.pos, __int128(b.c) - a.c - 1);
}
void PosSet::less(const Affine& a, __int128 bound) { at_most(a.pos, bound - a.c - 1); }
void PosSet::less_eq(const Affine& a, const Affine& b) {
  at_most(__int128(a.pos) - b.pos, __int128(b.c) - a.c);
}

void PosSet::nonempty(const Interval& i) {
  less(i.lo, i.hi);
  less(i.lo, i.cap);
}

// max(lo_x, lo_y) < min(hi_x, cap_x, hi_y, cap_y): every lower bound below every upper one.
void PosSet::overlap(const Interval& x, const Interval& y) {
  for (const Affine* lo : {&x.lo, &y.lo}) {
    less(*lo, x.hi);
    less(*lo, x.cap);
    less(*lo, y.hi);
    less(*lo, y.cap);
  }
}

PosSet region_nonempty(const Region& r, int64_t context) {
  PosSet s(context);
  for (const Interval& i : r.dims) s.nonempty(i);
  return s;
}

PosSet regions_overlap(const Region& a, const Region& b, int64_t context) {
  PosSet s(context);
  for (size_t d = 0; d < a.dims.size() && d < b.dims.size() && !s.empty(); ++d)
    s.overlap(a.dims[d], b.dims[d]);
  return s;
}

}  // namespace tessera::validate

// Which rows a rope_pairs task owns (TaskParams::rope_pairs), as arithmetic that the plan
// (footprints), the CPU twin and the GPU instruction share: constexpr and free of std::
// types, so nvcc compiles the same functions into device code (--expt-relaxed-constexpr).
//
// Rotation pair p of a projection with heads of hd rows (half = hd / 2) is row
// (p / half) * hd + p % half and its partner half a head further on. A task's rows
// [row_begin, row_end) name the first rows of its pairs: the first-half rows inside that
// range, which may span heads, so a stage's pairs can be cut into as many equal tasks as
// there are SMs whatever the head width. The task's k-th row (the order its twin and the
// GPU stage them) is the k-th pair's first row for k < P, then the partners in that order.
#pragma once

namespace tessera {

template <class I>
struct RopePairRows {
  I hd, half, p0, count;  // head width, half of it, first pair, pairs
  // The pair index of the first first-half row at or after row r.
  static constexpr I pair_at(I r, I hd) {
    const I h = r / hd, i = r - h * hd, half = hd / 2;
    return h * half + (i < half ? i : half);
  }
  constexpr I rows() const { return 2 * count; }
  constexpr I pair_row(I p) const { return (p / half) * hd + p % half; }
  // Output row of the task's k-th row, k in [0, 2 * count).
  constexpr I row(I k) const { return k < count ? pair_row(p0 + k) : pair_row(p0 + k - count) + half; }
  // Index of the task's row r among its 2 * count rows (r must be one of them).
  constexpr I index(I r) const {
    const I h = r / hd, i = r - h * hd;
    return i < half ? h * half + i - p0 : count + h * half + (i - half) - p0;
  }
  // Rotation index (0 .. half-1) of the task's k-th pair, k in [0, count).
  constexpr I rot(I k) const { return (p0 + k) % half; }
};

template <class I>
constexpr RopePairRows<I> rope_pair_rows(I row_begin, I row_end, I hd) {
  const I p0 = RopePairRows<I>::pair_at(row_begin, hd), p1 = RopePairRows<I>::pair_at(row_end, hd);
  return RopePairRows<I>{hd, hd / 2, p0, p1 > p0 ? p1 - p0 : I(0)};
}

}  // namespace tessera

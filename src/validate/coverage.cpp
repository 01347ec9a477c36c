// Box flattening and merged range sets (see coverage.h).
#include "validate/coverage.h"

namespace tessera::validate {

void for_each_run(const Region& r, const std::vector<int64_t>& shape, size_t first_dim, int64_t pos,
                  const std::function<void(int64_t, int64_t)>& f) {
  const size_t rank = shape.size();
  if (rank <= first_dim) {
    f(0, 1);  // the slice is a single element
    return;
  }
  if (rank == first_dim + 1) {  // the common case, without allocating
    const int64_t lo = r.dims[first_dim].lo_at(pos), hi = r.dims[first_dim].hi_at(pos);
    if (lo < hi) f(lo, hi);
    return;
  }
  std::vector<int64_t> lo(rank), hi(rank), stride(rank, 1);
  for (size_t d = first_dim; d < rank; ++d) {
    lo[d] = r.dims[d].lo_at(pos);
    hi[d] = r.dims[d].hi_at(pos);
    if (lo[d] >= hi[d]) return;
  }
  for (size_t d = rank - 1; d > first_dim; --d) stride[d - 1] = stride[d] * shape[d];
  // Whole trailing dimensions fold into the run along the last partial one.
  size_t run_dim = rank - 1;
  while (run_dim > first_dim && lo[run_dim] == 0 && hi[run_dim] == shape[run_dim]) --run_dim;
  std::vector<int64_t> idx(lo);
  while (true) {
    int64_t base = 0;
    for (size_t d = first_dim; d < run_dim; ++d) base += idx[d] * stride[d];
    f(base + lo[run_dim] * stride[run_dim], base + hi[run_dim] * stride[run_dim]);
    size_t d = run_dim;
    while (true) {
      if (d == first_dim) return;
      --d;
      if (++idx[d] < hi[d]) break;
      idx[d] = lo[d];
    }
  }
}

void RangeUnion::add(int64_t lo, int64_t hi) {
  if (lo >= hi) return;
  auto it = runs_.upper_bound(lo);
  if (it != runs_.begin() && std::prev(it)->second >= lo) {
    --it;
    lo = it->first;
    hi = std::max(hi, it->second);
    it = runs_.erase(it);
  }
  while (it != runs_.end() && it->first <= hi) {
    hi = std::max(hi, it->second);
    it = runs_.erase(it);
  }
  runs_.emplace(lo, hi);
}

std::optional<std::pair<int64_t, int64_t>> RangeUnion::first_gap(int64_t lo, int64_t hi) const {
  if (lo >= hi) return std::nullopt;
  auto it = runs_.upper_bound(lo);
  if (it != runs_.begin() && std::prev(it)->second > lo) lo = std::prev(it)->second;
  if (lo >= hi) return std::nullopt;
  const int64_t end = it != runs_.end() && it->first < hi ? it->first : hi;
  return std::make_pair(lo, end);
}

}  // namespace tessera::validate

// Quadratic on purpose: a front is built from one instruction kind's variations (tens of
// points), where the plain pairwise check is fastest to read and obviously right.
#include "search/pareto_front.h"

#include <algorithm>

#include "core/error.h"

namespace tessera {

bool dominates(const FrontPoint& a, const FrontPoint& b) {
  if (a.resources.size() != b.resources.size())
    fail("pareto front: points with {} and {} resource axes cannot be compared", a.resources.size(), b.resources.size());
  if (a.time > b.time) return false;
  bool better = a.time < b.time;
  for (size_t i = 0; i < a.resources.size(); ++i) {
    if (a.resources[i] > b.resources[i]) return false;
    better = better || a.resources[i] < b.resources[i];
  }
  return better;
}

std::vector<size_t> pareto_front(const std::vector<FrontPoint>& points) {
  std::vector<size_t> front;
  for (size_t i = 0; i < points.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) dominated = j != i && dominates(points[j], points[i]);
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end(), [&](size_t a, size_t b) {
    if (points[a].time != points[b].time) return points[a].time < points[b].time;
    if (points[a].resources != points[b].resources) return points[a].resources < points[b].resources;
    return a < b;
  });
  return front;
}

}  // namespace tessera

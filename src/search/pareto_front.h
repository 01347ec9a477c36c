// Pareto fronts: the points no other point beats on every axis at once. Generic (a time and
// any number of resource axes, all minimised) so the property that matters, a front never
// holds a dominated point and drops only dominated ones, is tested on its own, apart from
// the policy that uses it (policy_pareto.cpp).
#pragma once

#include <cstddef>
#include <vector>

namespace tessera {

struct FrontPoint {
  double time = 0;
  std::vector<double> resources;  // every point of one front has the same axes
};

// a is no worse than b on every axis and better on at least one. Throws tessera::Error
// when their resource axes differ in number.
bool dominates(const FrontPoint& a, const FrontPoint& b);

// Indices of the non-dominated points, fastest first (ties by resources, then index, so
// the order never depends on anything but the values). Points equal on every axis are all
// kept: neither dominates the other.
std::vector<size_t> pareto_front(const std::vector<FrontPoint>& points);

}  // namespace tessera

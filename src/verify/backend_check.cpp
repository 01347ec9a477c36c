#include "verify/backend_check.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "engine/cpu_engine.h"
#include "engine/sampler.h"

namespace tessera {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

double BackendCheck::max_rel_error() const {
  double m = 0;
  for (const auto& p : positions) m = std::max(m, p.rel_error);
  return m;
}

int BackendCheck::mismatches() const {
  int n = 0;
  for (const auto& p : positions) n += p.backend_token != p.reference_token;
  return n;
}

int BackendCheck::unexplained_mismatches(double tolerance) const {
  int n = 0;
  for (const auto& p : positions)
    n += p.backend_token != p.reference_token && p.reference_margin >= tolerance;
  return n;
}

bool BackendCheck::passed(double tolerance) const {
  return !positions.empty() && max_rel_error() <= tolerance && unexplained_mismatches(tolerance) == 0;
}

std::string BackendCheck::summary(double tolerance) const {
  std::string s = fmt::format(
      "{} positions: max relative logit error {:.3g} (bound {:.3g}); argmax identical at {}/{}; "
      "reference {:.3f} ms/step, backend {:.3f} ms/step\n",
      positions.size(), max_rel_error(), tolerance, int(positions.size()) - mismatches(),
      positions.size(), reference_ms_per_step, backend_ms_per_step);
  for (size_t i = 0; i < positions.size(); ++i) {
    const auto& p = positions[i];
    if (p.backend_token != p.reference_token)
      s += fmt::format("  position {}: reference token {} vs backend {} (reference top-2 margin "
                       "{:.3g} of max|logit|: {})\n",
                       i, p.reference_token, p.backend_token, p.reference_margin,
                       p.reference_margin < tolerance ? "a near-tie within the bound" : "NOT a near-tie");
  }
  s += passed(tolerance) ? "PASS\n" : "FAIL\n";
  return s;
}

BackendCheck check_backend(const Model& model, DecodeBackend& backend,
                           const BackendCheckOptions& o) {
  if (o.prompt.empty()) fail("the check needs at least one prompt token");
  if (o.steps < 0) fail("steps must be non-negative, got {}", o.steps);
  const int n = int(o.prompt.size()) + o.steps;
  if (n > backend.capacity())
    fail("{} positions do not fit the backend's context of {}", n, backend.capacity());
  CpuEngine engine(model, n, o.engine_threads);
  BackendCheck r;
  std::vector<std::vector<float>> ref;
  std::vector<int> inputs;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    int tok = i < int(o.prompt.size()) ? o.prompt[size_t(i)] : argmax(ref.back());
    inputs.push_back(tok);
    ref.push_back(engine.forward(tok, i));
  }
  r.reference_ms_per_step = 1e3 * seconds_since(t0) / n;
  backend.reset();
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    const std::vector<float>& b = backend.forward(inputs[size_t(i)], i);
    const std::vector<float>& a = ref[size_t(i)];
    if (b.size() != a.size()) fail("backend returned {} logits, reference {}", b.size(), a.size());
    PositionCheck p;
    p.input = inputs[size_t(i)];
    double scale = 0, err = 0;
    for (size_t j = 0; j < a.size(); ++j) {
      scale = std::max(scale, double(std::fabs(a[j])));
      double d = std::fabs(double(b[j]) - double(a[j]));
      if (!(d == d)) d = INFINITY;  // NaN from the backend is an infinite error
      err = std::max(err, d);
    }
    p.rel_error = scale > 0 ? err / scale : err;
    p.reference_token = argmax(a);
    p.backend_token = argmax(b);
    float top1 = a[size_t(p.reference_token)], top2 = -INFINITY;
    for (size_t j = 0; j < a.size(); ++j)
      if (int(j) != p.reference_token) top2 = std::max(top2, a[j]);
    p.reference_margin = scale > 0 ? (double(top1) - double(top2)) / scale : 0;
    r.positions.push_back(p);
  }
  r.backend_ms_per_step = 1e3 * seconds_since(t0) / n;
  return r;
}

}  // namespace tessera

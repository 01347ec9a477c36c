// Host side of a matvec run-gate trial (see matvec_bf16_trial.h). Values come from
// splitmix64, so a seed reproduces a trial on every platform.
#include "variants/matvec_bf16_trial.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/dtype.h"
#include "core/error.h"
#include "soundness/rng.h"

namespace tessera::variants {

namespace {

size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

float uniform(soundness::Rng& rng) { return float(double(rng.next() >> 11) * 0x1.0p-52 - 1.0); }

bool is_poison(const std::vector<uint8_t>& arena, size_t off) {
  uint32_t bits;
  std::memcpy(&bits, arena.data() + off, 4);
  return bits == kPoisonF32;
}

// Where arena byte `off` lies, for a guard hit: "N bytes before/after BUF".
std::string guard_place(const ArenaLayout& l, size_t off) {
  struct Buf {
    const char* name;
    size_t begin, end;
  } bufs[] = {{"w", l.w_off, l.w_off + l.w_bytes}, {"x", l.x_off, l.x_off + l.x_bytes}, {"y", l.y_off, l.y_off + l.y_bytes}};
  const Buf* nearest = nullptr;
  size_t best = SIZE_MAX;
  for (const Buf& b : bufs) {
    const size_t d = off < b.begin ? b.begin - off : off - b.end + 1;
    if (d < best) best = d, nearest = &b;
  }
  return fmt::format("{} bytes {} {}", best, off < nearest->begin ? "before" : "after", nearest->name);
}

}  // namespace

std::vector<float> matvec_bf16_twin(const std::vector<uint16_t>& w, const std::vector<float>& x, int rows, int cols) {
  std::vector<float> y(static_cast<size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    float s = 0.0f;
    for (int c = 0; c < cols; ++c) s += bf16_to_f32(w[size_t(r) * cols + c]) * x[size_t(c)];
    y[size_t(r)] = s;
  }
  return y;
}

ArenaLayout arena_layout(const VariantShape& shape) {
  ArenaLayout l;
  l.w_bytes = size_t(shape.rows) * size_t(shape.cols) * 2;
  l.x_bytes = size_t(shape.cols) * 4;
  l.y_bytes = size_t(shape.rows) * 4;
  l.w_off = kGuardBytes;
  l.x_off = align_up(l.w_off + l.w_bytes, 256) + kGuardBytes;
  l.y_off = align_up(l.x_off + l.x_bytes, 256) + kGuardBytes;
  l.total = align_up(l.y_off + l.y_bytes + kGuardBytes, kArenaGranule);
  return l;
}

Trial make_trial(const VariantShape& shape, uint64_t seed) {
  if (shape.rows < 1 || shape.cols < 1) fail("variant trial shape {}x{}: rows and cols must be at least 1", shape.rows, shape.cols);
  Trial t;
  t.shape = shape;
  t.seed = seed;
  t.layout = arena_layout(shape);
  soundness::Rng rng(seed);
  t.w.resize(size_t(shape.rows) * size_t(shape.cols));
  for (uint16_t& v : t.w) v = f32_to_bf16(uniform(rng));
  t.x.resize(size_t(shape.cols));
  for (float& v : t.x) v = uniform(rng);
  t.arena.resize(t.layout.total);
  for (size_t i = 0; i < t.arena.size(); i += 8) {
    const uint64_t g = rng.next();
    std::memcpy(t.arena.data() + i, &g, std::min<size_t>(8, t.arena.size() - i));
  }
  std::memcpy(t.arena.data() + t.layout.w_off, t.w.data(), t.layout.w_bytes);
  std::memcpy(t.arena.data() + t.layout.x_off, t.x.data(), t.layout.x_bytes);
  for (size_t i = 0; i < size_t(shape.rows); ++i) std::memcpy(t.arena.data() + t.layout.y_off + 4 * i, &kPoisonF32, 4);
  return t;
}

bool TrialReport::passed() const {
  return mismatches == 0 && guard_bytes_changed == 0 && w_bytes_changed == 0 && x_bytes_changed == 0;
}

std::string TrialReport::reason() const {
  const std::string where = fmt::format("shape {}x{} (seed {})", shape.rows, shape.cols, seed);
  if (guard_bytes_changed)
    return fmt::format("{}: wrote outside y: {} guard bytes changed, the first {}", where, guard_bytes_changed, first_guard_hit);
  if (w_bytes_changed || x_bytes_changed)
    return fmt::format("{}: changed its inputs ({} bytes of w, {} bytes of x)", where, w_bytes_changed, x_bytes_changed);
  if (unwritten)
    return fmt::format("{}: left {} of {} outputs unwritten (the first at row {})", where, unwritten, shape.rows, first_bad_row);
  if (mismatches)
    return fmt::format("{}: {} of {} outputs outside the tolerance; the first at row {}: got {}, want {} (tolerance {:.3g})",
                       where, mismatches, shape.rows, first_bad_row, first_bad_got, first_bad_want, first_bad_tolerance);
  return {};
}

nlohmann::json TrialReport::to_json() const {
  nlohmann::json j{{"rows", shape.rows},
                   {"cols", shape.cols},
                   {"seed", seed},
                   {"passed", passed()},
                   {"mismatches", mismatches},
                   {"unwritten", unwritten},
                   {"max_error", max_error},
                   {"guard_bytes_changed", guard_bytes_changed},
                   {"w_bytes_changed", w_bytes_changed},
                   {"x_bytes_changed", x_bytes_changed}};
  if (!passed()) j["reason"] = reason();
  return j;
}

TrialReport check_trial(const Trial& t, const std::vector<uint8_t>& after, const VariantSpec& spec) {
  TS_CHECK(after.size() == t.arena.size(), "arena came back with {} bytes, sent {}", after.size(), t.arena.size());
  const ArenaLayout& l = t.layout;
  TrialReport r;
  r.shape = t.shape;
  r.seed = t.seed;
  for (size_t i = 0; i < after.size(); ++i) {
    if (after[i] == t.arena[i]) continue;
    if (i >= l.y_off && i < l.y_off + l.y_bytes) continue;
    if (i >= l.w_off && i < l.w_off + l.w_bytes) {
      ++r.w_bytes_changed;
    } else if (i >= l.x_off && i < l.x_off + l.x_bytes) {
      ++r.x_bytes_changed;
    } else {
      if (!r.guard_bytes_changed) r.first_guard_hit = guard_place(l, i);
      ++r.guard_bytes_changed;
    }
  }
  const std::vector<float> want = matvec_bf16_twin(t.w, t.x, t.shape.rows, t.shape.cols);
  for (int row = 0; row < t.shape.rows; ++row) {
    const size_t off = l.y_off + 4 * size_t(row);
    float got;
    std::memcpy(&got, after.data() + off, 4);
    double abs_sum = 0;
    for (int c = 0; c < t.shape.cols; ++c)
      abs_sum += std::fabs(double(bf16_to_f32(t.w[size_t(row) * t.shape.cols + c])) * t.x[size_t(c)]);
    const double tol = spec.atol + spec.rtol * abs_sum;
    const bool unwritten = is_poison(after, off);
    const double err = std::fabs(double(got) - double(want[size_t(row)]));
    const bool bad = unwritten || !std::isfinite(got) || !(err <= tol);
    if (!unwritten && std::isfinite(got)) r.max_error = std::max(r.max_error, err);
    if (unwritten) ++r.unwritten;
    if (!bad) continue;
    if (r.first_bad_row < 0) {
      r.first_bad_row = row;
      r.first_bad_got = got;
      r.first_bad_want = want[size_t(row)];
      r.first_bad_tolerance = tol;
    }
    ++r.mismatches;
  }
  return r;
}

std::vector<uint64_t> trial_seeds(uint64_t seed, int count) {
  soundness::Rng rng(seed);
  std::vector<uint64_t> out;
  for (int i = 0; i < count; ++i) out.push_back(rng.next());
  return out;
}

}  // namespace tessera::variants

// The legal values are derived from the shape, not hard-coded per model: a tile larger than
// its dimension is the same plan as the dimension itself, so candidates beyond it would be
// duplicates the search pays for; the weight ring's depth is bounded by the target's shared
// memory (16 KiB per stage, plan/lower.h) with one stage's worth left for the rest.
#include "search/knob_space.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "core/error.h"

namespace tessera {

namespace {

std::string json_value_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

// Integers from `candidates` with 0 (= let lowering choose) always kept and the others at
// most `cap`.
std::vector<std::string> ints_up_to(std::initializer_list<int64_t> candidates, int64_t cap) {
  std::vector<std::string> out;
  for (int64_t v : candidates)
    if (v == 0 || v <= cap) out.push_back(std::to_string(v));
  return out;
}

}  // namespace

KnobSpace::KnobSpace(const ModelConfig& c, const Target& target, int context, LowerConfig base) : base_(std::move(base)) {
  if (context <= 0) fail("knob space: context {} must be positive", context);
  std::vector<std::string> sms{"0"};
  for (int v : {target.sms / 2, target.sms * 3 / 4})  // fewer, fuller blocks
    if (v >= 1 && v < target.sms) sms.push_back(std::to_string(v));
  // The weight ring (plan/lower.h): none, or 2, 4 or 8 stages of 16 KiB where bulk copies
  // exist (sm_90 and later) and the ring leaves a task's working set room (one stage's worth).
  std::vector<std::string> stages{"0"};
  const bool bulk_copies = target.arch.rfind("sm_", 0) == 0 && std::atoi(target.arch.c_str() + 3) >= 90;
  for (int s : {2, 4, 8})
    if (bulk_copies && int64_t(s + 1) * 16 * 1024 <= target.smem_per_block) stages.push_back(std::to_string(s));
  std::vector<std::string> splits{"0"};  // 0: the lowering chooses (its default)
  for (int s : {1, 2, 4, 8})
    if (s <= context) splits.push_back(std::to_string(s));
  std::vector<std::string> heads;
  for (int h : {1, 2, 4})
    if (h <= std::max<int64_t>(1, c.num_kv_heads)) heads.push_back(std::to_string(h));
  // Parts of a head per q/k/v task (rotation pairs; 0: the lowering's choice), at most
  // head_dim/2; legal only with one head per task (legal()).
  std::vector<std::string> parts{"0"};
  for (int p : {1, 2, 3, 4})
    if (p <= std::max<int64_t>(1, c.head_dim / 2)) parts.push_back(std::to_string(p));
  // KiB of its weights a gate/up, q/k/v or down tile asks L2 for before its wait
  // (plan/lower.h). 256 is left out: for gate/up on an H100 it overflows L2 and loses 1-2%
  // (docs/PERF.md). The lowering caps each hint at the tile's own bytes, so once a value
  // covers the whole matrix every tile is prefetched whole and larger values would be
  // duplicates.
  const int64_t wbytes = base_.weight_dtype == "f32" ? 4 : 2;
  auto prefetch_kib = [](int64_t matrix_bytes) {
    std::vector<std::string> v;
    for (int kib : {0, 32, 64, 128}) {
      v.push_back(std::to_string(kib));
      if (int64_t(kib) * 1024 >= matrix_bytes) break;
    }
    return v;
  };
  dims_ = {
      {"qkv_heads_per_task", heads},
      {"qkv_head_parts", parts},
      {"o_rows_per_task", ints_up_to({0, 16, 32, 64, 128}, c.hidden_size)},
      {"o_prefetch", {"false", "true"}},
      {"gate_up_rows_per_task", ints_up_to({0, 16, 32, 64, 128}, c.intermediate_size)},
      {"gate_up_prefetch_kib", prefetch_kib(c.intermediate_size * c.hidden_size * wbytes)},
      {"qkv_prefetch_kib", prefetch_kib(c.num_heads * c.head_dim * c.hidden_size * wbytes)},  // q, the largest
      {"down_prefetch_kib", prefetch_kib(c.hidden_size * c.intermediate_size * wbytes)},
      {"down_rows_per_task", ints_up_to({0, 16, 32, 64, 128}, c.hidden_size)},
      {"lm_rows_per_task", ints_up_to({0, 64, 128, 256, 512}, c.vocab_size)},
      {"kv_splits", splits},
      {"sms", sms},
      {"pipeline_stages", stages},
      // The matvec's threads per block and rows per warp (plan/lower.h); 512 and more
      // exceed the CUDA megakernel's launch bound (cuda/device_plan.h, kMaxThreads).
      {"threads", {"128", "256"}},
      {"rows_per_warp", {"1", "2"}},
      {"fuse_norm", {"true", "false"}},
      {"fold_attention", {"auto", "on", "off"}},
      {"counter_granularity", {"group", "op"}},
      {"queue_order", {"bytes", "round_robin"}},
  };
}

KnobSpace KnobSpace::subset(const std::vector<std::string>& keys) const {
  KnobSpace s;
  s.base_ = base_;
  for (const std::string& k : keys) {
    auto it = std::find_if(dims_.begin(), dims_.end(), [&](const KnobDim& d) { return d.key == k; });
    if (it == dims_.end()) {
      std::vector<std::string> names;
      for (const KnobDim& d : dims_) names.push_back(d.key);
      fail("knob space: '{}' is not a searchable knob (searchable: {})", k, fmt::join(names, ", "));
    }
    if (std::none_of(s.dims_.begin(), s.dims_.end(), [&](const KnobDim& d) { return d.key == k; })) s.dims_.push_back(*it);
  }
  if (s.dims_.empty()) fail("knob space: an empty subset");
  return s;
}

// The one combination the lowering refuses: a q/k/v task takes part of one head or whole
// heads, not both (plan/lower.cpp).
bool KnobSpace::legal(const KnobSet& k) const {
  auto get = [&](const std::string& key, int base) {
    auto it = k.find(key);
    return it != k.end() ? std::stoi(it->second) : base;
  };
  return !(get("qkv_heads_per_task", base_.qkv_heads_per_task) > 1 && get("qkv_head_parts", base_.qkv_head_parts) > 1);
}

uint64_t KnobSpace::size() const {
  constexpr uint64_t kCap = uint64_t(1) << 62;
  // All points, less the illegal ones: (heads > 1) x (parts > 1) x every other knob, a
  // knob outside the space counting once, with its base value.
  uint64_t n = 1, others = 1, heads_bad = base_.qkv_heads_per_task > 1, parts_bad = base_.qkv_head_parts > 1;
  for (const KnobDim& d : dims_) {
    if (__builtin_mul_overflow(n, uint64_t(d.values.size()), &n) || n > kCap) return kCap;
    const auto above_one = [&] {
      return uint64_t(std::count_if(d.values.begin(), d.values.end(), [](const std::string& v) { return std::stoi(v) > 1; }));
    };
    if (d.key == "qkv_heads_per_task") heads_bad = above_one();
    else if (d.key == "qkv_head_parts") parts_bad = above_one();
    else others *= uint64_t(d.values.size());  // <= n, no overflow
  }
  return n - heads_bad * parts_bad * others;
}

KnobSet KnobSpace::from_json(const nlohmann::json& j) const {
  if (!j.is_object()) fail("knob set: expected a JSON object of knobs, got {}", j.type_name());
  KnobSet k;
  for (const KnobDim& d : dims_) {
    if (!j.contains(d.key)) fail("knob set {}: missing knob '{}'", j.dump(), d.key);
    k[d.key] = json_value_text(j[d.key]);
  }
  return k;
}

KnobSet KnobSpace::from_config(const LowerConfig& c) const { return from_json(c.to_json()); }

LowerConfig KnobSpace::to_config(const KnobSet& k) const {
  LowerConfig c = base_;
  for (const auto& [key, value] : k) c.set(key + "=" + value);
  return c;
}

// sample, mutate and crossover draw again until the result is legal(): at least half of
// every draw is (one head per task is always a value), so a few draws suffice; the bound
// only guards against a space with no legal point, which the constructor cannot build.
constexpr int kLegalDraws = 1000;

KnobSet KnobSpace::sample(SearchRng& rng) const {
  for (int i = 0; i < kLegalDraws; ++i) {
    KnobSet k;
    for (const KnobDim& d : dims_) k[d.key] = d.values[size_t(rng.below(d.values.size()))];
    if (legal(k)) return k;
  }
  fail("knob space: no legal knob set drawn in {} tries", kLegalDraws);
}

KnobSet KnobSpace::mutate(const KnobSet& k, SearchRng& rng, int changes) const {
  for (int i = 0; i < kLegalDraws; ++i) {
    KnobSet out = mutate_once(k, rng, changes);
    if (legal(out)) return out;
  }
  return k;  // nothing legal within reach: the caller sees no change (a duplicate)
}

KnobSet KnobSpace::mutate_once(const KnobSet& k, SearchRng& rng, int changes) const {
  std::vector<const KnobDim*> movable;
  for (const KnobDim& d : dims_)
    if (d.values.size() > 1) movable.push_back(&d);
  KnobSet out = k;
  for (int i = 0; i < changes && !movable.empty(); ++i) {
    size_t pick = size_t(rng.below(movable.size()));
    const KnobDim& d = *movable[pick];
    movable.erase(movable.begin() + std::ptrdiff_t(pick));
    std::vector<std::string> others;
    for (const std::string& v : d.values)
      if (!out.count(d.key) || v != out.at(d.key)) others.push_back(v);
    out[d.key] = others[size_t(rng.below(others.size()))];
  }
  return out;
}

KnobSet KnobSpace::crossover(const KnobSet& a, const KnobSet& b, SearchRng& rng) const {
  for (int i = 0; i < kLegalDraws; ++i) {
    KnobSet out;
    for (const KnobDim& d : dims_) {
      const KnobSet& src = rng.chance(0.5) ? a : b;
      auto it = src.find(d.key);
      out[d.key] = it != src.end() ? it->second : d.values.front();
    }
    if (legal(out)) return out;
  }
  return a;
}

std::vector<KnobSet> KnobSpace::enumerate(uint64_t limit) const {
  if (size() > limit) fail("knob space: {} points exceed the enumeration limit of {}", size(), limit);
  std::vector<KnobSet> out{KnobSet{}};
  for (const KnobDim& d : dims_) {
    std::vector<KnobSet> next;
    for (const KnobSet& partial : out)
      for (const std::string& v : d.values) {
        KnobSet k = partial;
        k[d.key] = v;
        if (legal(k)) next.push_back(std::move(k));
      }
    out = std::move(next);
  }
  return out;
}

std::string knob_set_text(const KnobSet& k) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : k) parts.push_back(key + "=" + value);
  return fmt::format("{}", fmt::join(parts, " "));
}

}  // namespace tessera

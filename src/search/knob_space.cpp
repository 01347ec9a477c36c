// The legal values are derived from the shape, not hard-coded per model: a tile larger than
// its dimension is the same plan as the dimension itself, so candidates beyond it would be
// duplicates the search pays for; the pipeline depth is bounded by the target's shared
// memory (16 KB per stage, plan/lower.cpp) with one stage's worth left for the rest.
#include "search/knob_space.h"

#include <algorithm>

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
  std::vector<std::string> stages;
  for (int s : {2, 4, 8})
    if (int64_t(s + 1) * 16 * 1024 <= target.smem_per_block) stages.push_back(std::to_string(s));
  if (stages.empty()) stages.push_back("1");
  std::vector<std::string> splits{"0"};  // 0: the lowering chooses (its default)
  for (int s : {1, 2, 4, 8})
    if (s <= context) splits.push_back(std::to_string(s));
  std::vector<std::string> heads;
  for (int h : {1, 2, 4})
    if (h <= std::max<int64_t>(1, c.num_kv_heads)) heads.push_back(std::to_string(h));
  dims_ = {
      {"qkv_heads_per_task", heads},
      {"o_rows_per_task", ints_up_to({0, 16, 32, 64, 128}, c.hidden_size)},
      {"gate_up_rows_per_task", ints_up_to({0, 16, 32, 64, 128}, c.intermediate_size)},
      {"down_rows_per_task", ints_up_to({0, 16, 32, 64, 128}, c.hidden_size)},
      {"lm_rows_per_task", ints_up_to({0, 64, 128, 256, 512}, c.vocab_size)},
      {"kv_splits", splits},
      {"sms", sms},
      {"pipeline_stages", stages},
      {"fuse_norm", {"true", "false"}},
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

uint64_t KnobSpace::size() const {
  uint64_t n = 1;
  for (const KnobDim& d : dims_) {
    if (__builtin_mul_overflow(n, uint64_t(d.values.size()), &n) || n > (uint64_t(1) << 62)) return uint64_t(1) << 62;
  }
  return n;
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

KnobSet KnobSpace::sample(SearchRng& rng) const {
  KnobSet k;
  for (const KnobDim& d : dims_) k[d.key] = d.values[size_t(rng.below(d.values.size()))];
  return k;
}

KnobSet KnobSpace::mutate(const KnobSet& k, SearchRng& rng, int changes) const {
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
  KnobSet out;
  for (const KnobDim& d : dims_) {
    const KnobSet& src = rng.chance(0.5) ? a : b;
    auto it = src.find(d.key);
    out[d.key] = it != src.end() ? it->second : d.values.front();
  }
  return out;
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
        next.push_back(std::move(k));
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

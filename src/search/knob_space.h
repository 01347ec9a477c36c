// The candidate space of the search: lowering knobs (plan/lower.h) with the values legal
// for one model shape and target, listed in one table (knob_space.cpp) so sampling,
// mutation, crossover and enumeration can never disagree about what a knob may be. A
// knob set holds values as the strings LowerConfig::set takes, so whatever the space
// produces goes through the same parser a user's --knob does.
//
// Left out on purpose: weight_dtype and kv_dtype change the numerics, not the schedule
// (the search must not trade accuracy for speed); norm_rows_per_task and
// embed_cols_per_task move too few bytes to matter.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "plan/lower.h"
#include "soundness/rng.h"

namespace tessera {

using KnobSet = std::map<std::string, std::string>;  // knob key -> value for LowerConfig::set
using SearchRng = soundness::Rng;                    // splitmix64: reproducible everywhere

struct KnobDim {
  std::string key;
  std::vector<std::string> values;  // legal for this shape and target, at least one
};

class KnobSpace {
 public:
  // Every searchable knob with its legal values for `config` on `target` at `context`.
  KnobSpace(const ModelConfig& config, const Target& target, int context, LowerConfig base = {});
  // The same space restricted to `keys` (the other knobs stay at the base); throws
  // tessera::Error naming an unknown key.
  KnobSpace subset(const std::vector<std::string>& keys) const;

  const std::vector<KnobDim>& dims() const { return dims_; }
  const LowerConfig& base() const { return base_; }
  // Points in the space, legal ones only (saturating at 2^62).
  uint64_t size() const;
  // False for the one combination the lowering refuses: more than one head per q/k/v task
  // together with more than one part per head. Keys missing from `k` take the base's value.
  bool legal(const KnobSet& k) const;

  KnobSet from_config(const LowerConfig& c) const;  // the space's keys, read off a config
  KnobSet from_json(const nlohmann::json& config_json) const;  // LowerConfig::to_json() form
  LowerConfig to_config(const KnobSet& k) const;    // base with k applied
  KnobSet sample(SearchRng& rng) const;
  // Changes `changes` distinct knobs (those with more than one value) to another value.
  KnobSet mutate(const KnobSet& k, SearchRng& rng, int changes) const;
  // Each knob from a or b with equal chance. sample, mutate and crossover return legal()
  // sets only (they draw again), and enumerate() lists the legal points.
  KnobSet crossover(const KnobSet& a, const KnobSet& b, SearchRng& rng) const;
  // The whole space in a fixed order; throws tessera::Error when it has more than `limit` points.
  std::vector<KnobSet> enumerate(uint64_t limit) const;

 private:
  KnobSpace() = default;
  KnobSet mutate_once(const KnobSet& k, SearchRng& rng, int changes) const;
  std::vector<KnobDim> dims_;
  LowerConfig base_;
};

std::string knob_set_text(const KnobSet& k);  // "a=1 b=x", for logs and reports

}  // namespace tessera

// The knob space: every point it samples, mutates or crosses lowers and passes the
// validator for a tiny shape and the llama-3.2-1b shape; mutation changes one or two
// knobs; enumeration covers the space exactly.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "plan/plan_json.h"
#include "search/knob_space.h"
#include "validate/validate.h"

namespace tessera {
namespace {

int differing(const KnobSet& a, const KnobSet& b) {
  int n = 0;
  for (const auto& [k, v] : a) n += b.at(k) != v;
  return n;
}

void check_legal(const std::string& shape, int samples, int context) {
  const ModelConfig cfg = shape_config(shape);
  const Target t = target_preset("sm_90a");
  KnobSpace space(cfg, t, context);
  SearchRng rng(11);
  std::vector<KnobSet> sets;
  for (int i = 0; i < samples; ++i) sets.push_back(space.sample(rng));
  for (int i = 0; i < samples; ++i) {
    KnobSet m = space.mutate(sets[size_t(i)], rng, 1 + i % 2);
    EXPECT_EQ(differing(sets[size_t(i)], m), 1 + i % 2);
    sets.push_back(m);
  }
  for (int i = 0; i + 1 < samples; i += 2) sets.push_back(space.crossover(sets[size_t(i)], sets[size_t(i + 1)], rng));
  for (const KnobSet& k : sets) {
    for (const KnobDim& d : space.dims())
      EXPECT_NE(std::find(d.values.begin(), d.values.end(), k.at(d.key)), d.values.end()) << d.key;
    Plan p = lower(cfg, t, space.to_config(k), context, shape);
    ValidationReport r = validate_plan(p);
    EXPECT_TRUE(r.ok()) << shape << " " << knob_set_text(k) << "\n" << r.to_text();
    EXPECT_EQ(space.from_json(p.config), k);  // the plan records the knobs that made it
  }
}

TEST(SearchKnobSpace, SampledMutatedCrossedSetsLowerAndValidateTiny) { check_legal("tiny", 24, 32); }
TEST(SearchKnobSpace, SampledMutatedCrossedSetsLowerAndValidateLlama1b) { check_legal("llama-3.2-1b", 6, 64); }

TEST(SearchKnobSpace, LegalValuesFollowTheShapeAndTarget) {
  KnobSpace tiny(shape_config("tiny"), target_preset("sm_86"), 4);
  for (const KnobDim& d : tiny.dims()) {
    EXPECT_FALSE(d.values.empty()) << d.key;
    if (d.key == "kv_splits") { EXPECT_EQ(d.values, (std::vector<std::string>{"0", "1", "2", "4"})); }
    // sm_86 has no bulk copies: no weight ring.
    if (d.key == "pipeline_stages") { EXPECT_EQ(d.values, (std::vector<std::string>{"0"})); }
    if (d.key == "o_rows_per_task") { EXPECT_EQ(d.values, (std::vector<std::string>{"0", "16", "32", "64"})); }  // hidden 64
    if (d.key == "o_prefetch") { EXPECT_EQ(d.values, (std::vector<std::string>{"false", "true"})); }
    // A gate/up matrix of tiny is 128 x 64 bf16 = 16 KiB: 32 KiB already prefetches every tile whole.
    if (d.key == "gate_up_prefetch_kib") { EXPECT_EQ(d.values, (std::vector<std::string>{"0", "32"})); }
  }
  EXPECT_THROW(KnobSpace(shape_config("tiny"), target_preset("sm_90a"), 0), Error);
}

// The gate/up prefetch values: 256 KiB (which overflows an H100's L2) is never offered, and
// a value past the first that covers the whole matrix is left out because it lowers to the
// same plan; below that every value is a different plan.
TEST(SearchKnobSpace, GateUpPrefetchValuesAreDistinctPlans) {
  const Target t = target_preset("sm_90a");
  auto plan_text = [&](const std::string& shape, const std::vector<std::string>& knobs) {
    LowerConfig c;
    for (const std::string& k : knobs) c.set(k);
    Plan p = lower(shape_config(shape), t, c, 32, shape);
    p.config = nlohmann::json::object();  // compare what the plan does, not the knobs it records
    return plan_to_json(p);
  };
  auto values = [&](const std::string& shape) {
    const KnobSpace space(shape_config(shape), t, 32);
    for (const KnobDim& d : space.dims())
      if (d.key == "gate_up_prefetch_kib") return d.values;
    ADD_FAILURE() << shape << ": no gate_up_prefetch_kib";
    return std::vector<std::string>{};
  };
  EXPECT_EQ(values("llama-3.2-1b"), (std::vector<std::string>{"0", "32", "64", "128"}));  // 8192 x 2048 bf16 = 32 MiB
  EXPECT_EQ(values("tiny"), (std::vector<std::string>{"0", "32"}));
  EXPECT_EQ(plan_text("tiny", {"gate_up_prefetch_kib=64"}), plan_text("tiny", {"gate_up_prefetch_kib=128"}));
  EXPECT_NE(plan_text("tiny", {"gate_up_prefetch_kib=0"}), plan_text("tiny", {"gate_up_prefetch_kib=64"}));
  // smollm2-135m: 1536 x 576 bf16 = 1.7 MiB, but tiles of 16-128 rows are 18-144 KiB: all three differ.
  const std::string a = plan_text("smollm2-135m", {"gate_up_rows_per_task=128", "gate_up_prefetch_kib=64"});
  EXPECT_NE(a, plan_text("smollm2-135m", {"gate_up_rows_per_task=128", "gate_up_prefetch_kib=128"}));
  EXPECT_EQ(values("smollm2-135m"), (std::vector<std::string>{"0", "32", "64", "128"}));
  // The q/k/v and down hints follow the same rule with their own matrices.
  const KnobSpace tiny(shape_config("tiny"), t, 32), big(shape_config("llama-3.2-1b"), t, 32);
  for (const KnobSpace* space : {&tiny, &big})
    for (const KnobDim& d : space->dims())
      if (d.key == "qkv_prefetch_kib" || d.key == "down_prefetch_kib")
        EXPECT_EQ(d.values, space == &tiny ? (std::vector<std::string>{"0", "32"})
                                           : (std::vector<std::string>{"0", "32", "64", "128"})) << d.key;
}

TEST(SearchKnobSpace, SubsetEnumeratesExactlyAndRejectsUnknownKeys) {
  KnobSpace all(shape_config("llama-3.2-1b"), target_preset("sm_90a"), 4096);
  KnobSpace sub = all.subset({"counter_granularity", "fuse_norm", "kv_splits"});
  EXPECT_EQ(sub.size(), 2u * 2u * 5u);  // kv_splits 0 (choose), 1, 2, 4, 8
  auto pts = sub.enumerate(1000);
  EXPECT_EQ(pts.size(), 20u);
  std::set<std::string> distinct;
  for (const KnobSet& k : pts) distinct.insert(knob_set_text(k));
  EXPECT_EQ(distinct.size(), 20u);
  EXPECT_THROW(sub.enumerate(10), Error);
  try {
    all.subset({"weight_dtype"});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'weight_dtype' is not a searchable knob"), std::string::npos) << e.what();
  }
  // Knobs outside the subset keep the base's values.
  LowerConfig base;
  base.set("sms=64");
  KnobSpace based = KnobSpace(shape_config("tiny"), target_preset("sm_90a"), 32, base).subset({"kv_splits"});
  EXPECT_EQ(based.to_config({{"kv_splits", "2"}}).sms, 64);
}

// Several heads per q/k/v task with several parts per head is the one combination the
// lowering refuses: the space counts, enumerates and draws without it, and every point it
// does list lowers.
TEST(SearchKnobSpace, QkvHeadsAndPartsNeverCombine) {
  const ModelConfig cfg = shape_config("llama-3.2-1b");
  KnobSpace all(cfg, target_preset("sm_90a"), 64);
  KnobSpace sub = all.subset({"qkv_heads_per_task", "qkv_head_parts"});
  // heads 1, 2, 4 x parts 0 (choose), 1, 2, 3, 4, less heads {2, 4} x parts {2, 3, 4}
  EXPECT_EQ(sub.size(), 3u * 5u - 2u * 3u);
  const auto pts = sub.enumerate(100);
  ASSERT_EQ(pts.size(), 9u);
  for (const KnobSet& k : pts) {
    EXPECT_TRUE(sub.legal(k)) << knob_set_text(k);
    EXPECT_NO_THROW(lower(cfg, target_preset("sm_90a"), sub.to_config(k), 64)) << knob_set_text(k);
  }
  EXPECT_FALSE(sub.legal({{"qkv_heads_per_task", "2"}, {"qkv_head_parts", "2"}}));
  EXPECT_THROW(lower(cfg, target_preset("sm_90a"), sub.to_config({{"qkv_heads_per_task", "2"}, {"qkv_head_parts", "2"}}), 64),
               Error);
  SearchRng rng(5);
  KnobSet k = sub.sample(rng);
  for (int i = 0; i < 200; ++i) {
    EXPECT_TRUE(sub.legal(k)) << knob_set_text(k);
    const KnobSet m = sub.mutate(k, rng, 1);
    EXPECT_TRUE(sub.legal(m)) << knob_set_text(m);
    EXPECT_TRUE(sub.legal(sub.crossover(k, m, rng)));
    k = i % 2 ? m : sub.sample(rng);
  }
  // With the other knob fixed at the base, the same rule holds against the base's value.
  LowerConfig two_heads;
  two_heads.set("qkv_heads_per_task=2");
  KnobSpace parts_only = KnobSpace(cfg, target_preset("sm_90a"), 64, two_heads).subset({"qkv_head_parts"});
  EXPECT_EQ(parts_only.size(), 2u);  // 0 and 1
  EXPECT_EQ(parts_only.enumerate(10).size(), 2u);
}

}  // namespace
}  // namespace tessera

// The race pass avoids comparing all pairs (an extent index for tiles, per-block scans
// bounded by vector clocks). This checks that shortcut against the definition: on small
// synthetic plans with random unsafe mutations (dropped waits, lowered thresholds, moved
// tiles), the set of racing pairs found by brute force over all pairs, with the same
// happens-before, is non-empty exactly when the validator reports a race, and every pair
// it reports is one. Also: every mutant the brute force calls racy is rejected.
#include <gtest/gtest.h>

#include <random>

#include "validate/passes.h"
#include "validate/pos_range.h"
#include "validate/validate.h"
#include "validate_synthetic.h"

using namespace tessera;

namespace {

std::set<std::pair<int32_t, int32_t>> brute_force_races(const Plan& p, const validate::Facts& f) {
  std::set<std::pair<int32_t, int32_t>> races;
  for (const Task& a : p.tasks)
    for (const Task& b : p.tasks) {
      if (a.id >= b.id || f.before(p, a.id, b.id) || f.before(p, b.id, a.id)) continue;
      auto conflict = [&](const std::vector<Region>& x, const std::vector<Region>& y) {
        for (const Region& r : x)
          for (const Region& s : y)
            if (r.buf == s.buf && !validate::regions_overlap(r, s, p.context).empty()) return true;
        return false;
      };
      if (conflict(a.writes, b.writes) || conflict(a.writes, b.reads) || conflict(a.reads, b.writes))
        races.insert({a.id, b.id});
    }
  return races;
}

}  // namespace

TEST(ValidateDifferential, RacePassAgreesWithAllPairs) {
  test::SyntheticShape shape;
  shape.layers = 3;
  shape.blocks = 3;
  shape.D = 64;
  shape.tile = 8;  // 8 tiles per op over 3 blocks: both the direct and the per-block paths
  shape.V = 64;
  shape.lm_tile = 16;
  const Plan base = test::synthetic_plan(shape).plan;
  ASSERT_TRUE(validate_plan(base).ok()) << validate_plan(base).to_text();

  std::mt19937 rng(1234);
  int racy = 0, clean = 0, deadlocked = 0;
  for (int trial = 0; trial < 300; ++trial) {
    Plan p = base;
    const int mutations = 1 + int(rng() % 3);
    for (int m = 0; m < mutations; ++m) {
      Task& t = p.tasks[rng() % p.tasks.size()];
      switch (rng() % 3) {
        case 0: t.waits.clear(); break;
        case 1:
          for (Wait& w : t.waits) w.threshold = 1 + int64_t(rng() % uint64_t(w.threshold));
          break;
        case 2: {  // move the task to the end of another block's queue
          auto& from = p.queues[size_t(t.sm)];
          from.erase(std::find(from.begin(), from.end(), t.id));
          t.sm = int32_t(rng() % p.queues.size());
          p.queues[size_t(t.sm)].push_back(t.id);
          break;
        }
      }
    }
    validate::Sink sink(1000);
    validate::Facts facts = validate::derive_facts(p);
    if (!validate::check_deadlock(p, facts, sink)) {
      ++deadlocked;
      EXPECT_FALSE(validate_plan(p).ok());
      continue;
    }
    validate::compute_clocks(p, facts);
    validate::check_races(p, facts, sink);
    const auto truth = brute_force_races(p, facts);
    for (const Diagnostic& d : sink.errors()) {
      ASSERT_EQ(d.tasks.size(), 2u);
      EXPECT_TRUE(truth.count({std::min(d.tasks[0], d.tasks[1]), std::max(d.tasks[0], d.tasks[1])}))
          << "trial " << trial << ": reported a pair that does not race: " << d.message;
    }
    EXPECT_EQ(truth.empty(), sink.errors().empty()) << "trial " << trial << ": " << truth.size() << " racing pairs";
    if (!truth.empty()) {
      ++racy;
      EXPECT_FALSE(validate_plan(p).ok()) << "trial " << trial;
    } else {
      ++clean;
    }
  }
  std::printf("300 mutants: %d racy, %d race-free, %d deadlocked\n", racy, clean, deadlocked);
  EXPECT_GT(racy, 50);
}

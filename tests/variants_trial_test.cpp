// The run gate's judging, without a GPU: a trial's arena is "run" on the CPU by writing
// into it what a variant would, honest or not, and check_trial must tell which is which.
// The tolerance cases prove the harness's tolerance admits fp32 sums in another order and
// rejects bf16 accumulation at both of the entry's shapes.
#include <gtest/gtest.h>

#include <cstring>

#include "core/dtype.h"
#include "core/error.h"
#include "variants/matvec_bf16_trial.h"
#include "variants/variant_spec.h"

namespace tessera::variants {
namespace {

const VariantSpec& spec() { return variant_spec("matvec_bf16"); }

void write_y(std::vector<uint8_t>& arena, const Trial& t, const std::vector<float>& y) {
  std::memcpy(arena.data() + t.layout.y_off, y.data(), y.size() * 4);
}

TEST(VariantTrial, ArenaHasGuardsAroundEveryBufferAndFillsWholeGranules) {
  for (const VariantShape& s : spec().shapes) {
    const ArenaLayout l = arena_layout(s);
    EXPECT_GE(l.w_off, kGuardBytes);
    EXPECT_GE(l.x_off, l.w_off + l.w_bytes + kGuardBytes);
    EXPECT_GE(l.y_off, l.x_off + l.x_bytes + kGuardBytes);
    EXPECT_GE(l.total, l.y_off + l.y_bytes + kGuardBytes);
    EXPECT_EQ(l.total % kArenaGranule, 0u);
  }
}

TEST(VariantTrial, InputsAreFreshPerSeedAndOutputsPoisoned) {
  const Trial a = make_trial({16, 40}, 1), b = make_trial({16, 40}, 2), a2 = make_trial({16, 40}, 1);
  EXPECT_NE(a.w, b.w);
  EXPECT_NE(a.x, b.x);
  EXPECT_EQ(a.arena, a2.arena);  // a seed reproduces a trial
  uint32_t bits;
  std::memcpy(&bits, a.arena.data() + a.layout.y_off + 4 * 15, 4);
  EXPECT_EQ(bits, kPoisonF32);
  const std::vector<uint64_t> seeds = trial_seeds(7, 4);
  for (size_t i = 0; i < seeds.size(); ++i)
    for (size_t j = i + 1; j < seeds.size(); ++j) EXPECT_NE(seeds[i], seeds[j]);
  EXPECT_NE(trial_seeds(7, 1), trial_seeds(8, 1));
}

TEST(VariantTrial, BadShapeIsAnError) { EXPECT_THROW(make_trial({0, 8}, 1), Error); }

TEST(VariantTrial, TheTwinsResultPasses) {
  const Trial t = make_trial({75, 1031}, 3);
  std::vector<uint8_t> after = t.arena;
  write_y(after, t, matvec_bf16_twin(t.w, t.x, 75, 1031));
  const TrialReport r = check_trial(t, after, spec());
  EXPECT_TRUE(r.passed()) << r.reason();
  EXPECT_EQ(r.reason(), "");
  EXPECT_EQ(r.max_error, 0.0);
}

TEST(VariantTrial, UnwrittenOutputIsCaught) {
  const Trial t = make_trial({32, 64}, 4);
  std::vector<uint8_t> after = t.arena;
  std::vector<float> y = matvec_bf16_twin(t.w, t.x, 32, 64);
  y.resize(20);  // rows 20.. left as they were: poisoned
  write_y(after, t, y);
  const TrialReport r = check_trial(t, after, spec());
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.unwritten, 12);
  EXPECT_EQ(r.first_bad_row, 20);
  EXPECT_NE(r.reason().find("left 12 of 32 outputs unwritten (the first at row 20)"), std::string::npos) << r.reason();
}

TEST(VariantTrial, OutputCopiedFromAnInputIsCaught) {
  const Trial t = make_trial({32, 64}, 5);
  std::vector<uint8_t> after = t.arena;
  std::vector<float> y(32);
  for (int r = 0; r < 32; ++r) y[size_t(r)] = t.x[size_t(r)];
  write_y(after, t, y);
  const TrialReport r = check_trial(t, after, spec());
  EXPECT_FALSE(r.passed());
  EXPECT_GE(r.mismatches, 30);
  EXPECT_NE(r.reason().find("outside the tolerance"), std::string::npos) << r.reason();
}

TEST(VariantTrial, WriteJustPastTheOutputHitsTheGuard) {
  const Trial t = make_trial({32, 64}, 6);
  std::vector<uint8_t> after = t.arena;
  write_y(after, t, matvec_bf16_twin(t.w, t.x, 32, 64));
  after[t.layout.y_off + t.layout.y_bytes] ^= 0xff;
  const TrialReport r = check_trial(t, after, spec());
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.guard_bytes_changed, 1);
  EXPECT_NE(r.reason().find("wrote outside y: 1 guard bytes changed, the first 1 bytes after y"), std::string::npos)
      << r.reason();
}

TEST(VariantTrial, WriteFarFromEveryBufferIsSeenInTheArenaSlack) {
  const Trial t = make_trial({32, 64}, 7);
  std::vector<uint8_t> after = t.arena;
  write_y(after, t, matvec_bf16_twin(t.w, t.x, 32, 64));
  after[t.layout.total - 1] ^= 1;
  const TrialReport r = check_trial(t, after, spec());
  EXPECT_EQ(r.guard_bytes_changed, 1);
  EXPECT_NE(r.first_guard_hit.find("after y"), std::string::npos);
}

TEST(VariantTrial, ChangedInputsAreCaught) {
  const Trial t = make_trial({32, 64}, 8);
  std::vector<uint8_t> after = t.arena;
  write_y(after, t, matvec_bf16_twin(t.w, t.x, 32, 64));
  after[t.layout.w_off + 10] ^= 1;
  after[t.layout.x_off] ^= 1;
  const TrialReport r = check_trial(t, after, spec());
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.w_bytes_changed, 1);
  EXPECT_EQ(r.x_bytes_changed, 1);
  EXPECT_NE(r.reason().find("changed its inputs (1 bytes of w, 1 bytes of x)"), std::string::npos) << r.reason();
}

// Another summation order in fp32 (reversed, pairwise by halves) passes; accumulating in
// bf16 fails, at every shape the entry checks.
TEST(VariantTrial, ToleranceAdmitsFp32ReorderingAndRejectsBf16Accumulation) {
  for (const VariantShape& s : spec().shapes) {
    const Trial t = make_trial(s, 9);
    std::vector<float> reordered(size_t(s.rows)), bf16_acc(size_t(s.rows));
    for (int r = 0; r < s.rows; ++r) {
      float lo = 0, hi = 0;
      uint16_t acc = 0;
      for (int c = s.cols - 1; c >= 0; --c) {
        const float p = bf16_to_f32(t.w[size_t(r) * s.cols + c]) * t.x[size_t(c)];
        (c < s.cols / 2 ? lo : hi) += p;
        acc = f32_to_bf16(bf16_to_f32(acc) + p);
      }
      reordered[size_t(r)] = lo + hi;
      bf16_acc[size_t(r)] = bf16_to_f32(acc);
    }
    std::vector<uint8_t> after = t.arena;
    write_y(after, t, reordered);
    const TrialReport ok = check_trial(t, after, spec());
    EXPECT_TRUE(ok.passed()) << ok.reason();
    EXPECT_GT(ok.max_error, 0.0);  // the order did change the bits
    write_y(after, t, bf16_acc);
    const TrialReport bad = check_trial(t, after, spec());
    EXPECT_FALSE(bad.passed());
    EXPECT_GT(bad.mismatches, s.rows / 2) << s.rows << "x" << s.cols;
  }
}

TEST(VariantTrial, ReportJsonCarriesTheReason) {
  const Trial t = make_trial({8, 8}, 10);
  const nlohmann::json j = check_trial(t, t.arena, spec()).to_json();
  EXPECT_EQ(j["rows"], 8);
  EXPECT_EQ(j["passed"], false);
  EXPECT_EQ(j["unwritten"], 8);
  EXPECT_TRUE(j.contains("reason"));
}

}  // namespace
}  // namespace tessera::variants

// Sampler: greedy choice, validation of the command-line settings, reproducibility, and a
// statistical check that draws follow softmax(logits / T) restricted by top-k / top-p.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "engine/sampler.h"

using namespace tessera;

namespace {

std::string config_error(SamplerConfig c) {
  try {
    Sampler s(c);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

SamplerConfig cfg(float t, int k = 0, float p = 1.f, uint64_t seed = 0) {
  SamplerConfig c;
  c.temperature = t;
  c.top_k = k;
  c.top_p = p;
  c.seed = seed;
  return c;
}

// Draw frequencies over `draws` samples.
std::vector<double> frequencies(Sampler& s, const std::vector<float>& logits, int draws) {
  std::vector<double> f(logits.size(), 0.0);
  for (int i = 0; i < draws; ++i) f[s.sample(logits)] += 1.0 / draws;
  return f;
}

std::vector<double> softmax(const std::vector<float>& logits, double t) {
  std::vector<double> p(logits.size());
  double mx = *std::max_element(logits.begin(), logits.end()), sum = 0;
  for (size_t i = 0; i < p.size(); ++i) sum += (p[i] = std::exp((logits[i] - mx) / t));
  for (auto& v : p) v /= sum;
  return p;
}

}  // namespace

TEST(Sampler, ArgmaxLowestIdWinsTies) {
  EXPECT_EQ(argmax({1.f, 3.f, 2.f, 3.f}), 1);
  EXPECT_EQ(argmax({-INFINITY, -5.f}), 1);
  EXPECT_EQ(argmax({7.f}), 0);
}

TEST(Sampler, TemperatureZeroIsGreedy) {
  Sampler s(cfg(0.f, 0, 1.f, 123));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.sample({0.f, 2.f, 2.f, -1.f}), 1);
}

TEST(Sampler, SameSeedSameDraws) {
  std::vector<float> logits = {0.1f, 0.5f, 0.3f, 0.2f, 0.4f, 0.f, 0.25f, 0.35f};
  Sampler a(cfg(1.f, 0, 1.f, 42)), b(cfg(1.f, 0, 1.f, 42)), c(cfg(1.f, 0, 1.f, 43));
  std::vector<int> da, db, dc;
  for (int i = 0; i < 200; ++i) {
    da.push_back(a.sample(logits));
    db.push_back(b.sample(logits));
    dc.push_back(c.sample(logits));
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);  // a different seed gives a different sequence
}

TEST(Sampler, FrequenciesFollowTemperatureSoftmax) {
  const std::vector<float> logits = {1.f, 2.f, 0.5f, -1.f, 1.5f};
  const int draws = 200000;  // std error of a frequency <= 0.0012
  for (float t : {1.f, 0.6f, 2.f}) {
    Sampler s(cfg(t, 0, 1.f, 7));
    auto f = frequencies(s, logits, draws);
    auto p = softmax(logits, t);
    for (size_t i = 0; i < p.size(); ++i)
      EXPECT_NEAR(f[i], p[i], 0.006) << "T=" << t << " token " << i;
  }
}

TEST(Sampler, TopKKeepsTheKLargestRenormalised) {
  const std::vector<float> logits = {1.f, 2.f, 0.5f, -1.f, 1.5f};
  Sampler s(cfg(1.f, 2, 1.f, 8));
  auto f = frequencies(s, logits, 100000);
  auto p = softmax(logits, 1.0);
  const double kept = p[1] + p[4];
  EXPECT_NEAR(f[1], p[1] / kept, 0.006);
  EXPECT_NEAR(f[4], p[4] / kept, 0.006);
  EXPECT_EQ(f[0] + f[2] + f[3], 0.0);
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  // Probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.7 keeps {0, 1} (0.5 < 0.7 <= 0.8).
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f),
                                     std::log(0.05f)};
  Sampler s(cfg(1.f, 0, 0.7f, 9));
  auto f = frequencies(s, logits, 100000);
  EXPECT_NEAR(f[0], 0.625, 0.006);
  EXPECT_NEAR(f[1], 0.375, 0.006);
  EXPECT_EQ(f[2] + f[3], 0.0);
}

TEST(Sampler, TopPAppliesAfterTopKRenormalisation) {
  // top-k 2 leaves 0.5, 0.3 -> renormalised 0.625, 0.375; top-p 0.6 then keeps token 0
  // alone. Applied to the original probabilities it would need {0, 1} (0.5 < 0.6).
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f),
                                     std::log(0.05f)};
  Sampler s(cfg(1.f, 2, 0.6f, 10));
  auto f = frequencies(s, logits, 10000);
  EXPECT_NEAR(f[0], 1.0, 1e-9);
}

TEST(Sampler, TopK1AndTinyTopPAreGreedy) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.f, 3.f);
  Sampler k1(cfg(1.5f, 1, 1.f, 12)), tiny_p(cfg(1.5f, 0, 1e-6f, 13));
  for (int i = 0; i < 200; ++i) {
    std::vector<float> logits(50);
    for (auto& v : logits) v = nd(rng);
    EXPECT_EQ(k1.sample(logits), argmax(logits));
    EXPECT_EQ(tiny_p.sample(logits), argmax(logits));
  }
}

TEST(Sampler, NegativeInfinityLogitsAreNeverDrawn) {
  Sampler s(cfg(1.f, 0, 1.f, 14));
  for (int i = 0; i < 1000; ++i) EXPECT_NE(s.sample({0.f, -INFINITY, 0.f}), 1);
}

TEST(SamplerErrors, BadSettingsNameTheFlag) {
  EXPECT_EQ(config_error(cfg(-0.5f)), "--temperature must be a finite number >= 0, got -0.5");
  EXPECT_EQ(config_error(cfg(NAN)), "--temperature must be a finite number >= 0, got nan");
  EXPECT_EQ(config_error(cfg(INFINITY)), "--temperature must be a finite number >= 0, got inf");
  EXPECT_EQ(config_error(cfg(1.f, -1)), "--top-k must be >= 0 (0 disables it), got -1");
  EXPECT_EQ(config_error(cfg(1.f, 0, 0.f)), "--top-p must be in (0, 1], got 0");
  EXPECT_EQ(config_error(cfg(1.f, 0, 1.5f)), "--top-p must be in (0, 1], got 1.5");
  EXPECT_EQ(config_error(cfg(1.f, 0, NAN)), "--top-p must be in (0, 1], got nan");
  EXPECT_EQ(config_error(cfg(0.f, 5, 0.5f)), "(no error)");
}

TEST(SamplerErrors, NanLogits) {
  for (float t : {0.f, 1.f}) {
    Sampler s(cfg(t));
    try {
      s.sample({0.f, 1.f, NAN});
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "logit of token 2 is NaN");
    }
  }
}

TEST(SamplerErrors, PositiveInfinityWhenSampling) {
  Sampler s(cfg(1.f));
  try {
    s.sample({0.f, INFINITY});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "logit of token 1 is +inf; cannot sample");
  }
}

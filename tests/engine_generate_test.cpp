// The generation loop on a tiny random model: it must produce exactly what a hand-written
// greedy loop over CpuEngine produces, stop on EOS, respect the context, and report
// prompts that do not fit.
#include <gtest/gtest.h>

#include "core/error.h"
#include "engine/generate.h"
#include "engine_test_models.h"

using namespace tessera;
using namespace tessera::test;

namespace {

std::vector<int> manual_greedy(CpuEngine& e, const std::vector<int>& prompt, int n) {
  e.reset();
  std::vector<float> logits;
  int pos = 0;
  for (int t : prompt) logits = e.forward(t, pos++);
  std::vector<int> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(argmax(logits));
    if (i + 1 < n) logits = e.forward(out.back(), pos++);
  }
  return out;
}

std::string generate_error(CpuEngine& e, const std::vector<int>& prompt, int max_new) {
  Sampler s(SamplerConfig{});
  try {
    generate(e, prompt, max_new, s, {});
  } catch (const Error& err) {
    return err.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Generate, GreedyEqualsManualLoop) {
  Model m = make_model(tiny_config(Arch::Qwen3), 31);
  CpuEngine e(m, 64, 2);
  const std::vector<int> prompt = {1, 17, 93, 5};
  std::vector<int> want = manual_greedy(e, prompt, 20);
  Sampler s(SamplerConfig{});
  std::vector<int> seen;
  GenerateResult r = generate(e, prompt, 20, s, {}, [&](int id) { seen.push_back(id); });
  EXPECT_EQ(r.tokens, want);
  EXPECT_EQ(seen, want);
  EXPECT_FALSE(r.stopped_on_eos);
  EXPECT_GE(r.prompt_seconds, 0.0);
  EXPECT_GE(r.generate_seconds, 0.0);
  // The model is random but not degenerate: the greedy text is not one repeated token.
  EXPECT_NE(std::count(want.begin(), want.end(), want[0]), 20);
  // generate() resets the engine, so a second run repeats the first.
  EXPECT_EQ(generate(e, prompt, 20, s, {}).tokens, want);
}

TEST(Generate, StopsOnEosAndIncludesIt) {
  Model m = make_model(tiny_config(), 32);
  CpuEngine e(m, 64, 1);
  const std::vector<int> prompt = {3, 4, 5};
  std::vector<int> greedy = manual_greedy(e, prompt, 12);
  // Stop at the first occurrence of the 4th greedy token (which may occur earlier).
  const int eos = greedy[3];
  const size_t stop = std::find(greedy.begin(), greedy.end(), eos) - greedy.begin();
  Sampler s(SamplerConfig{});
  GenerateResult r = generate(e, prompt, 12, s, {999, eos});
  EXPECT_TRUE(r.stopped_on_eos);
  EXPECT_EQ(r.tokens, std::vector<int>(greedy.begin(), greedy.begin() + stop + 1));
}

TEST(Generate, BudgetIsClippedToTheContext) {
  Model m = make_model(tiny_config(), 33);
  CpuEngine e(m, 10, 1);
  Sampler s(SamplerConfig{});
  // 6 prompt tokens + 4 new ones fill the 10 positions; the last is never run.
  GenerateResult r = generate(e, {1, 2, 3, 4, 5, 6}, 100, s, {});
  EXPECT_EQ(r.tokens.size(), 4u);
  EXPECT_EQ(r.tokens, manual_greedy(e, {1, 2, 3, 4, 5, 6}, 4));
  EXPECT_EQ(generate(e, {1, 2, 3, 4, 5, 6}, 2, s, {}).tokens.size(), 2u);
  EXPECT_EQ(generate(e, {1, 2, 3, 4, 5, 6}, 0, s, {}).tokens.size(), 0u);
  // A prompt one short of the context still gets its one token.
  EXPECT_EQ(generate(e, {1, 2, 3, 4, 5, 6, 7, 8, 9}, 5, s, {}).tokens.size(), 1u);
}

TEST(Generate, SampledGenerationIsReproducible) {
  Model m = make_model(tiny_config(Arch::Qwen2), 34);
  CpuEngine e(m, 64, 2);
  SamplerConfig c;
  c.temperature = 1.2f;
  c.top_k = 40;
  c.top_p = 0.95f;
  c.seed = 77;
  Sampler a(c), b(c);
  auto ra = generate(e, {9, 8, 7}, 30, a, {});
  auto rb = generate(e, {9, 8, 7}, 30, b, {});
  EXPECT_EQ(ra.tokens, rb.tokens);
  EXPECT_EQ(ra.tokens.size(), 30u);
}

TEST(GenerateErrors, PromptDoesNotFitTheContext) {
  Model m = make_model(tiny_config(), 35);
  CpuEngine e(m, 8, 1);
  EXPECT_EQ(generate_error(e, std::vector<int>(8, 1), 5),
            "prompt of 8 tokens does not fit the context of 8 tokens (room is needed for at "
            "least one new token)");
  EXPECT_EQ(generate_error(e, std::vector<int>(20, 1), 5),
            "prompt of 20 tokens does not fit the context of 8 tokens (room is needed for at "
            "least one new token)");
}

TEST(GenerateErrors, EmptyPromptAndNegativeBudget) {
  Model m = make_model(tiny_config(), 36);
  CpuEngine e(m, 8, 1);
  EXPECT_EQ(generate_error(e, {}, 5), "the prompt is empty (at least one token is needed)");
  EXPECT_EQ(generate_error(e, {1}, -1), "--max-tokens must be >= 0, got -1");
}

TEST(GenerateErrors, BadPromptTokenIsReported) {
  Model m = make_model(tiny_config(), 37);
  CpuEngine e(m, 8, 1);
  EXPECT_EQ(generate_error(e, {1, 500}, 2), "token id 500 is outside the vocabulary of 128 tokens");
}

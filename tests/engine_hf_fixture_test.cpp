// CpuEngine against transformers itself: tests/data/engine/*.safetensors hold tiny bf16
// models with the logits and greedy ids that transformers (fp32) computed for them
// (tools/make_engine_fixtures.py). The safetensors reading here is a minimal test-local
// helper for these trusted fixtures, not the project's importer, so this test does not
// depend on the import layer.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <memory>

#include "engine/cpu_engine.h"
#include "engine/generate.h"

using namespace tessera;
using json = nlohmann::json;

namespace {

struct Fixture {
  Model model;
  std::vector<int> prompt, greedy;
  std::vector<float> logits;  // [prompt][vocab]
};

Fixture load_fixture(const std::string& name) {
  std::string path = std::string(TESSERA_SOURCE_DIR) + "/tests/data/engine/" + name + ".safetensors";
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  auto bytes = std::make_shared<std::string>((std::istreambuf_iterator<char>(f)),
                                             std::istreambuf_iterator<char>());
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes->data(), 8);
  json header = json::parse(bytes->substr(8, header_len));
  const char* base = bytes->data() + 8 + header_len;
  const size_t data_size = bytes->size() - 8 - header_len;

  Fixture fx;
  json c = json::parse(header["__metadata__"]["config"].get<std::string>());
  ModelConfig& mc = fx.model.config;
  mc.arch = parse_arch(c["arch"], path);
  mc.vocab_size = c["vocab_size"];
  mc.hidden_size = c["hidden_size"];
  mc.intermediate_size = c["intermediate_size"];
  mc.num_layers = c["num_layers"];
  mc.num_heads = c["num_attention_heads"];
  mc.num_kv_heads = c["num_key_value_heads"];
  mc.head_dim = c["head_dim"];
  mc.max_position_embeddings = c["max_position_embeddings"];
  mc.rms_norm_eps = c["rms_norm_eps"];
  mc.rope_theta = c["rope_theta"];
  mc.tie_word_embeddings = c["tie_word_embeddings"];
  mc.attention_bias = c["attention_bias"];
  mc.qk_norm = c["qk_norm"];
  if (c.contains("rope_scaling")) {
    const json& s = c["rope_scaling"];
    EXPECT_EQ(s["type"], "llama3");
    mc.rope_scaling.type = RopeScaling::Type::Llama3;
    mc.rope_scaling.factor = s["factor"];
    mc.rope_scaling.low_freq_factor = s["low_freq_factor"];
    mc.rope_scaling.high_freq_factor = s["high_freq_factor"];
    mc.rope_scaling.original_max_position_embeddings = s["original_max_position_embeddings"];
  }
  fx.model.source = path;

  for (auto& [key, info] : header.items()) {
    if (key == "__metadata__") continue;
    const std::string dtype = info["dtype"];
    std::vector<int64_t> shape = info["shape"].get<std::vector<int64_t>>();
    const size_t begin = info["data_offsets"][0], end = info["data_offsets"][1];
    if (end > data_size || begin > end) throw std::runtime_error(path + ": bad offsets for " + key);
    const char* p = base + begin;
    const size_t n = (end - begin) / (dtype == "BF16" ? 2 : 4);
    if (key == "_ref.logits") {
      fx.logits.resize(n);
      std::memcpy(fx.logits.data(), p, n * 4);
    } else if (key == "_ref.prompt" || key == "_ref.greedy") {
      std::vector<int>& dst = key == "_ref.prompt" ? fx.prompt : fx.greedy;
      dst.resize(n);
      std::memcpy(dst.data(), p, n * 4);
    } else {
      if (dtype != "BF16") throw std::runtime_error(path + ": expected BF16 for " + key);
      fx.model.weights[key] = Tensor::view(DType::BF16, shape, p, bytes);
    }
  }
  fx.model.validate();
  return fx;
}

class HfFixture : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(HfFixture, LogitsAndGreedyMatchTransformers) {
  Fixture fx = load_fixture(GetParam());
  const int V = fx.model.config.vocab_size;
  ASSERT_EQ(fx.logits.size(), fx.prompt.size() * size_t(V));
  ASSERT_FALSE(fx.greedy.empty());

  CpuEngine engine(fx.model, 0, 2);
  for (size_t t = 0; t < fx.prompt.size(); ++t) {
    const std::vector<float>& got = engine.forward(fx.prompt[t], int(t));
    double num = 0, den = 0;
    for (int i = 0; i < V; ++i) {
      const double want = fx.logits[t * V + i];
      num = std::max(num, std::abs(got[i] - want));
      den = std::max(den, std::abs(want));
    }
    // fp32 vs fp32 with different summation orders: observed ~1e-6.
    EXPECT_LE(num / den, 2e-5) << GetParam() << " position " << t;
  }

  Sampler greedy(SamplerConfig{});
  GenerateResult r = generate(engine, fx.prompt, int(fx.greedy.size()), greedy, {});
  EXPECT_EQ(r.tokens, fx.greedy) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Engine, HfFixture,
                         ::testing::Values("llama3_scaled", "qwen2_tied", "qwen3"));

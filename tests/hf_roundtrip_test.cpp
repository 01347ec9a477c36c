// write_hf -> load_hf round trips for every architecture and dtype, sharded and not, plus
// the importer's diagnostics. Values are compared exactly: f32 must survive bit for bit,
// f16/bf16 must equal the round-to-nearest-even conversion of the source value.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "model/export.h"
#include "model/hf_config.h"
#include "model/load.h"
#include "model/safetensors.h"
#include "model/weight_names.h"
#include "test_util.h"

using namespace tessera;
namespace fs = std::filesystem;

namespace {

float value(size_t tensor, int64_t i) {
  return float(std::sin(double(tensor) * 7.1 + double(i) * 0.37)) * (1.f + float(tensor % 5));
}

ModelConfig small_config(Arch arch) {
  ModelConfig c;
  c.arch = arch;
  c.vocab_size = 50;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = arch == Arch::Qwen3 ? 16 : 8;  // qwen3: head_dim != hidden/heads
  c.max_position_embeddings = 128;
  c.rms_norm_eps = 1e-6f;
  c.rope_theta = arch == Arch::Llama ? 500000.f : 1000000.f;
  c.bos_token_id = 1;
  c.eos_token_ids = {2, 3};
  c.attention_bias = arch == Arch::Qwen2;
  c.qk_norm = arch == Arch::Qwen3;
  return c;
}

// Entries with deterministic values; lm_head is included even when tied, to check that
// write_hf leaves it out.
ExportModel make_model(const ModelConfig& c) {
  ExportModel m;
  m.config = c;
  ModelConfig untied = c;
  untied.tie_word_embeddings = false;
  auto specs = canonical_weights(untied);
  for (size_t k = 0; k < specs.size(); ++k) {
    TensorEntry e{specs[k].name, specs[k].shape, nullptr};
    int64_t n = e.numel();
    e.fill = [k, n](float* dst) {
      for (int64_t i = 0; i < n; ++i) dst[i] = value(k, i);
    };
    m.tensors.push_back(std::move(e));
  }
  return m;
}

float stored(float v, DType t) {
  switch (t) {
    case DType::F32: return v;
    case DType::F16: return f16_to_f32(f32_to_f16(v));
    case DType::BF16: return bf16_to_f32(f32_to_bf16(v));
  }
  return v;
}

void expect_same_config(const ModelConfig& a, const ModelConfig& b) {
  EXPECT_EQ(a.arch, b.arch);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.hidden_size, b.hidden_size);
  EXPECT_EQ(a.intermediate_size, b.intermediate_size);
  EXPECT_EQ(a.num_layers, b.num_layers);
  EXPECT_EQ(a.num_heads, b.num_heads);
  EXPECT_EQ(a.num_kv_heads, b.num_kv_heads);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.max_position_embeddings, b.max_position_embeddings);
  EXPECT_EQ(a.rms_norm_eps, b.rms_norm_eps);
  EXPECT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_EQ(a.rope_scaling.type, b.rope_scaling.type);
  EXPECT_EQ(a.rope_scaling.factor, b.rope_scaling.factor);
  EXPECT_EQ(a.rope_scaling.low_freq_factor, b.rope_scaling.low_freq_factor);
  EXPECT_EQ(a.rope_scaling.high_freq_factor, b.rope_scaling.high_freq_factor);
  EXPECT_EQ(a.rope_scaling.original_max_position_embeddings,
            b.rope_scaling.original_max_position_embeddings);
  EXPECT_EQ(a.tie_word_embeddings, b.tie_word_embeddings);
  EXPECT_EQ(a.attention_bias, b.attention_bias);
  EXPECT_EQ(a.qk_norm, b.qk_norm);
  EXPECT_EQ(a.bos_token_id, b.bos_token_id);
  EXPECT_EQ(a.eos_token_ids, b.eos_token_ids);
}

void round_trip(const ModelConfig& c, DType dtype, int64_t shard_bytes) {
  test::TempDir tmp;
  std::string dir = tmp.file("model");
  ExportModel em = make_model(c);
  write_hf(em, dir, dtype, shard_bytes);
  Model m = load_hf(dir);
  EXPECT_EQ(m.format, "hf");
  EXPECT_EQ(m.source, dir);
  expect_same_config(m.config, c);
  EXPECT_EQ(m.has("lm_head.weight"), !c.tie_word_embeddings);
  auto specs = canonical_weights(c);
  EXPECT_EQ(m.weights.size(), specs.size());
  for (size_t k = 0; k < em.tensors.size(); ++k) {
    const auto& e = em.tensors[k];
    if (!m.has(e.name)) continue;  // tied lm_head
    const Tensor& t = m.weight(e.name);
    EXPECT_EQ(t.dtype, dtype) << e.name;
    EXPECT_EQ(t.shape, e.shape) << e.name;
    auto got = t.to_f32();
    for (int64_t i = 0; i < e.numel(); ++i)
      ASSERT_EQ(got[size_t(i)], stored(value(k, i), dtype)) << e.name << "[" << i << "]";
  }
  bool sharded = fs::exists(fs::path(dir) / "model.safetensors.index.json");
  EXPECT_EQ(sharded, shard_bytes > 0);
  EXPECT_EQ(fs::exists(fs::path(dir) / "model.safetensors"), shard_bytes == 0);
  if (sharded) {
    // Every shard within the limit unless it holds a single larger tensor.
    int shards = 0;
    for (auto& p : fs::directory_iterator(dir)) {
      if (p.path().extension() != ".safetensors") continue;
      ++shards;
      auto ts = load_safetensors(p.path().string());
      int64_t bytes = 0;
      for (auto& [n, t] : ts) bytes += int64_t(t.nbytes());
      EXPECT_TRUE(bytes <= shard_bytes || ts.size() == 1) << p.path();
    }
    EXPECT_GT(shards, 1);
  }
  // Leave a copy for tools/check_hf_export.py when asked.
  if (const char* keep = std::getenv("TESSERA_HF_EXPORT_DIR"); keep && *keep) {
    std::string name = fmt::format("{}_{}_{}{}", arch_name(c.arch), dtype_name(dtype),
                                   c.tie_word_embeddings ? "tied" : "untied",
                                   shard_bytes ? "_sharded" : "");
    write_hf(em, (fs::path(keep) / name).string(), dtype, shard_bytes);
  }
}

std::string load_error(const std::string& dir) {
  try {
    load_hf(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream(p) << s;
}

}  // namespace

TEST(HfRoundTrip, LlamaUntiedLlama3RopeF32) {
  ModelConfig c = small_config(Arch::Llama);
  c.rope_scaling = {RopeScaling::Type::Llama3, 8.f, 1.f, 4.f, 64};
  round_trip(c, DType::F32, 0);
}

TEST(HfRoundTrip, LlamaTiedLlama3RopeF16Sharded) {
  ModelConfig c = small_config(Arch::Llama);
  c.tie_word_embeddings = true;
  c.rope_scaling = {RopeScaling::Type::Llama3, 32.f, 1.f, 4.f, 64};
  round_trip(c, DType::F16, 8000);
}

TEST(HfRoundTrip, LlamaLinearRopeBf16) {
  ModelConfig c = small_config(Arch::Llama);
  c.rope_scaling.type = RopeScaling::Type::Linear;
  c.rope_scaling.factor = 4.f;
  round_trip(c, DType::BF16, 0);
}

TEST(HfRoundTrip, MistralBf16) { round_trip(small_config(Arch::Mistral), DType::BF16, 0); }

TEST(HfRoundTrip, Qwen2BiasesF32Sharded) {
  ModelConfig c = small_config(Arch::Qwen2);
  c.tie_word_embeddings = true;
  round_trip(c, DType::F32, 20000);
}

TEST(HfRoundTrip, Qwen3QkNormBf16) { round_trip(small_config(Arch::Qwen3), DType::BF16, 0); }
TEST(HfRoundTrip, Qwen3QkNormF16Sharded) { round_trip(small_config(Arch::Qwen3), DType::F16, 4096); }

TEST(HfRoundTrip, ExportFromLoadedModel) {
  test::TempDir tmp;
  ModelConfig c = small_config(Arch::Qwen2);
  write_hf(make_model(c), tmp.file("a"), DType::BF16);
  Model a = load_hf(tmp.file("a"));
  ExportModel e = export_from(a, VocabSpec{});
  EXPECT_EQ(e.tensors.size(), a.weights.size());
  write_hf(e, tmp.file("b"), DType::F32);  // bf16 values are exact in f32
  Model b = load_hf(tmp.file("b"));
  expect_same_config(b.config, a.config);
  for (const auto& [name, t] : a.weights) EXPECT_EQ(b.weight(name).to_f32(), t.to_f32()) << name;
  // Tied models export no lm_head entry.
  c.tie_word_embeddings = true;
  write_hf(make_model(c), tmp.file("c"), DType::F32);
  ExportModel tied = export_from(load_hf(tmp.file("c")), VocabSpec{});
  for (const auto& t : tied.tensors) EXPECT_NE(t.name, "lm_head.weight");
}

TEST(HfImport, IgnoresBuffersAndTiedHead) {
  test::TempDir tmp;
  ModelConfig c = small_config(Arch::Llama);
  c.tie_word_embeddings = true;
  ExportModel em = make_model(c);
  em.config.tie_word_embeddings = false;  // write lm_head too
  em.tensors.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", {4}, [](float* d) {
                          for (int i = 0; i < 4; ++i) d[i] = 1.f;
                        }});
  write_hf(em, tmp.file("m"), DType::F32);
  write_text(fs::path(tmp.file("m")) / "config.json", hf_config_json(c, DType::F32).dump());
  Model m = load_hf(tmp.file("m"));
  EXPECT_FALSE(m.has("lm_head.weight"));
  EXPECT_FALSE(m.has("model.layers.0.self_attn.rotary_emb.inv_freq"));
  EXPECT_EQ(&m.lm_head(), &m.weight("model.embed_tokens.weight"));
}

TEST(HfImport, GenerationConfigEosIsMerged) {
  test::TempDir tmp;
  ModelConfig c = small_config(Arch::Llama);
  write_hf(make_model(c), tmp.file("m"), DType::F32);
  write_text(fs::path(tmp.file("m")) / "generation_config.json", R"({"eos_token_id":[3,9]})");
  EXPECT_EQ(load_hf(tmp.file("m")).config.eos_token_ids, (std::vector<int>{2, 3, 9}));
  write_text(fs::path(tmp.file("m")) / "generation_config.json", R"({"eos_token_id":[77]})");
  EXPECT_EQ(load_error(tmp.file("m")),
            tmp.file("m") + "/generation_config.json: eos_token_id 77 outside vocabulary of 50");
}

TEST(HfImport, Errors) {
  test::TempDir tmp;
  fs::create_directories(tmp.file("empty"));
  EXPECT_EQ(load_error(tmp.file("empty")), tmp.file("empty") + ": directory has no config.json");

  ModelConfig c = small_config(Arch::Llama);
  fs::create_directories(tmp.file("noweights"));
  write_text(fs::path(tmp.file("noweights")) / "config.json", hf_config_json(c, DType::F32).dump());
  EXPECT_EQ(load_error(tmp.file("noweights")),
            tmp.file("noweights") + ": no model.safetensors or model.safetensors.index.json");

  write_text(fs::path(tmp.file("noweights")) / "config.json", "{\"model_type\": ");
  EXPECT_EQ(load_error(tmp.file("noweights")).rfind(tmp.file("noweights") + "/config.json: invalid JSON", 0), 0u);

  // Config says untied but the file has no lm_head.
  c.tie_word_embeddings = true;
  write_hf(make_model(c), tmp.file("m"), DType::F32);
  c.tie_word_embeddings = false;
  write_text(fs::path(tmp.file("m")) / "config.json", hf_config_json(c, DType::F32).dump());
  EXPECT_EQ(load_error(tmp.file("m")), tmp.file("m") + ": missing weight 'lm_head.weight'");

  // Shape mismatch against the config.
  c.intermediate_size = 40;
  write_text(fs::path(tmp.file("m")) / "config.json", hf_config_json(c, DType::F32).dump());
  c.tie_word_embeddings = true;
  write_text(fs::path(tmp.file("m")) / "config.json", hf_config_json(c, DType::F32).dump());
  EXPECT_EQ(load_error(tmp.file("m")),
            tmp.file("m") + ": weight 'model.layers.0.mlp.gate_proj.weight' has shape [48, 32], expected [40, 32]");
}

TEST(HfImport, ShardErrors) {
  test::TempDir tmp;
  ModelConfig c = small_config(Arch::Llama);
  const std::string dir = tmp.file("m");
  write_hf(make_model(c), dir, DType::F32, 10000);
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  auto j = read_json_file(index.string());
  std::string first = j["weight_map"]["model.embed_tokens.weight"];

  auto bad = j;
  bad["weight_map"]["model.norm.weight"] = first;  // listed in the wrong shard
  write_text(index, bad.dump());
  EXPECT_EQ(load_error(dir), index.string() + ": tensor 'model.norm.weight' is listed in shard '" + first +
                                 "' but that shard does not contain it");

  bad = j;
  bad["weight_map"]["model.norm.weight"] = "model-00009-of-00009.safetensors";
  write_text(index, bad.dump());
  EXPECT_EQ(load_error(dir), index.string() + ": shard 'model-00009-of-00009.safetensors' does not exist (" +
                                 dir + "/model-00009-of-00009.safetensors)");

  bad = j;
  bad["weight_map"]["model.norm.weight"] = "../x.safetensors";
  write_text(index, bad.dump());
  EXPECT_EQ(load_error(dir), index.string() + ": weight_map entry 'model.norm.weight' names "
                                 "'../x.safetensors', which is not a file name in the same directory");

  write_text(index, R"({"metadata":{}})");
  EXPECT_EQ(load_error(dir), index.string() + ": missing object 'weight_map'");

  // The same tensor in two shards.
  write_text(index, j.dump());
  fs::copy_file(fs::path(dir) / first, fs::path(dir) / "copy.safetensors");
  j["weight_map"]["extra"] = "copy.safetensors";
  write_text(index, j.dump());
  std::string err = load_error(dir);
  EXPECT_NE(err.find("is in both shards"), std::string::npos) << err;
}

TEST(HfExport, Errors) {
  test::TempDir tmp;
  ModelConfig c = small_config(Arch::Llama);
  c.rope_freq_factors = std::vector<float>(4, 1.f);
  try {
    write_hf(make_model(c), tmp.file("m"), DType::F32);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "config.json cannot express per-frequency rope factors (rope_freqs); the model needs "
              "rope_scaling parameters instead");
  }
  c.rope_freq_factors.clear();
  write_text(tmp.file("file"), "x");
  try {
    write_hf(make_model(c), tmp.file("file"), DType::F32);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(tmp.file("file") + ": cannot create directory", 0), 0u) << e.what();
  }
}

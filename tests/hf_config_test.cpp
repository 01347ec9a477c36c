// config.json parsing against files transformers 5.x itself wrote (tests/data/hf/, made by
// tools/make_hf_fixtures.py), the defaults transformers applies, and every diagnostic.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model/hf_config.h"

using namespace tessera;
using nlohmann::json;

namespace {

ModelConfig fixture(const std::string& name) {
  std::string p = std::string(TESSERA_SOURCE_DIR) + "/tests/data/hf/" + name + "/config.json";
  return parse_hf_config(read_json_file(p), p);
}

std::string error_of(const std::string& text) {
  try {
    parse_hf_config_text(text, "config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A minimal valid llama config with one key replaced or added.
std::string with(const std::string& extra) {
  return R"({"model_type":"llama","vocab_size":100,"hidden_size":64,"intermediate_size":128,)"
         R"("num_hidden_layers":2,"num_attention_heads":4)" +
         (extra.empty() ? "" : "," + extra) + "}";
}

}  // namespace

TEST(HfConfig, Llama3ScaledFromTransformers) {
  ModelConfig c = fixture("llama3_scaled");
  EXPECT_EQ(c.arch, Arch::Llama);
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_EQ(c.hidden_size, 2048);
  EXPECT_EQ(c.intermediate_size, 8192);
  EXPECT_EQ(c.num_layers, 16);
  EXPECT_EQ(c.num_heads, 32);
  EXPECT_EQ(c.num_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.max_position_embeddings, 131072);
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-5f);
  EXPECT_EQ(c.rope_theta, 500000.f);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::Llama3);
  EXPECT_EQ(c.rope_scaling.factor, 32.f);
  EXPECT_EQ(c.rope_scaling.low_freq_factor, 1.f);
  EXPECT_EQ(c.rope_scaling.high_freq_factor, 4.f);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_EQ(c.bos_token_id, 128000);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int>{128001, 128008, 128009}));
}

TEST(HfConfig, LlamaDefaults) {
  ModelConfig c = fixture("llama_defaults");
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-6f);
  EXPECT_EQ(c.rope_theta, 10000.f);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::None);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{2});
  // Keys absent altogether take transformers' LlamaConfig defaults.
  ModelConfig d = parse_hf_config_text(R"({"model_type":"llama"})", "config.json");
  EXPECT_EQ(d.vocab_size, 32000);
  EXPECT_EQ(d.hidden_size, 4096);
  EXPECT_EQ(d.intermediate_size, 11008);
  EXPECT_EQ(d.num_layers, 32);
  EXPECT_EQ(d.num_kv_heads, 32);
  EXPECT_EQ(d.head_dim, 128);
}

TEST(HfConfig, LegacyLinearSpelling) {
  ModelConfig c = fixture("llama_legacy_linear");
  EXPECT_EQ(c.head_dim, 64);  // null -> hidden / heads
  EXPECT_EQ(c.rope_theta, 10000.f);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::Linear);
  EXPECT_EQ(c.rope_scaling.factor, 2.f);
  // Older files spell the type "type", newer "rope_type"; both must work.
  ModelConfig d = parse_hf_config_text(
      with(R"("rope_theta":500000,"rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1,)"
           R"("high_freq_factor":4,"original_max_position_embeddings":8192})"),
      "config.json");
  EXPECT_EQ(d.rope_theta, 500000.f);
  EXPECT_EQ(d.rope_scaling.type, RopeScaling::Type::Llama3);
  EXPECT_EQ(d.rope_scaling.factor, 8.f);
}

TEST(HfConfig, Mistral) {
  ModelConfig c = fixture("mistral");
  EXPECT_EQ(c.arch, Arch::Mistral);
  EXPECT_EQ(c.num_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.rope_theta, 1000000.f);
  EXPECT_FALSE(c.attention_bias);
  // sliding_window 4096 with full attention beyond it is not something Tessera computes:
  // the context is capped at the window so every position it runs matches transformers.
  EXPECT_EQ(c.max_position_embeddings, 4096);
}

TEST(HfConfig, Qwen2AlwaysHasBiases) {
  ModelConfig c = fixture("qwen2");
  EXPECT_EQ(c.arch, Arch::Qwen2);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_EQ(c.max_position_embeddings, 32768);  // use_sliding_window false: no cap
  EXPECT_EQ(c.bos_token_id, 151643);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{151645});
  // Qwen2Config has no bos/eos defaults.
  ModelConfig d = parse_hf_config_text(R"({"model_type":"qwen2","hidden_size":64,"num_attention_heads":4,"num_key_value_heads":null})",
                                       "config.json");
  EXPECT_EQ(d.bos_token_id, -1);
  EXPECT_TRUE(d.eos_token_ids.empty());
  EXPECT_EQ(d.num_kv_heads, 4);  // null -> heads
}

TEST(HfConfig, Qwen3HasQkNormAndHeadDimDefault128) {
  ModelConfig c = fixture("qwen3");
  EXPECT_EQ(c.arch, Arch::Qwen3);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.head_dim, 128);  // != hidden/heads = 64
  ModelConfig d = parse_hf_config_text(R"({"model_type":"qwen3","hidden_size":64,"num_attention_heads":4,"num_key_value_heads":2})",
                                       "config.json");
  EXPECT_EQ(d.head_dim, 128);
  ModelConfig e = parse_hf_config_text(
      R"({"model_type":"qwen3","hidden_size":64,"num_attention_heads":4,"num_key_value_heads":4,"head_dim":null})", "config.json");
  EXPECT_EQ(e.head_dim, 16);
}

TEST(HfConfig, GenerationConfig) {
  auto g = parse_hf_generation_config(json::parse(R"({"bos_token_id":1,"eos_token_id":[2,7]})"), "g.json");
  EXPECT_EQ(g.bos_token_id, 1);
  EXPECT_EQ(g.eos_token_ids, (std::vector<int>{2, 7}));
  auto h = parse_hf_generation_config(json::parse(R"({"eos_token_id":3})"), "g.json");
  EXPECT_EQ(h.bos_token_id, -1);
  EXPECT_EQ(h.eos_token_ids, std::vector<int>{3});
  EXPECT_THROW(parse_hf_generation_config(json::parse(R"({"eos_token_id":"x"})"), "g.json"), Error);
}

TEST(HfConfig, WriteThenParseIsIdentity) {
  for (const char* name : {"llama3_scaled", "llama_legacy_linear", "mistral", "qwen2", "qwen3"}) {
    ModelConfig c = fixture(name);
    ModelConfig d = parse_hf_config(hf_config_json(c, DType::BF16), "written");
    EXPECT_EQ(d.arch, c.arch) << name;
    EXPECT_EQ(d.vocab_size, c.vocab_size) << name;
    EXPECT_EQ(d.head_dim, c.head_dim) << name;
    EXPECT_EQ(d.num_kv_heads, c.num_kv_heads) << name;
    EXPECT_EQ(d.max_position_embeddings, c.max_position_embeddings) << name;
    EXPECT_EQ(d.rms_norm_eps, c.rms_norm_eps) << name;
    EXPECT_EQ(d.rope_theta, c.rope_theta) << name;
    EXPECT_EQ(d.rope_scaling.type, c.rope_scaling.type) << name;
    EXPECT_EQ(d.rope_scaling.factor, c.rope_scaling.factor) << name;
    EXPECT_EQ(d.tie_word_embeddings, c.tie_word_embeddings) << name;
    EXPECT_EQ(d.attention_bias, c.attention_bias) << name;
    EXPECT_EQ(d.qk_norm, c.qk_norm) << name;
    EXPECT_EQ(d.bos_token_id, c.bos_token_id) << name;
    EXPECT_EQ(d.eos_token_ids, c.eos_token_ids) << name;
  }
  json j = hf_config_json(fixture("mistral"), DType::F16);
  EXPECT_EQ(j["architectures"][0], "MistralForCausalLM");
  EXPECT_EQ(j["dtype"], "float16");
  EXPECT_EQ(j["rms_norm_eps"].dump(), "1e-05");
}

TEST(HfConfig, Errors) {
  EXPECT_EQ(error_of(R"({"model_type":"llama","num_attention_heads":"4"})"),
            "config.json: 'num_attention_heads' must be an integer, got string");
  EXPECT_EQ(error_of(R"({"model_type":"llama","hidden_size":64.5})"),
            "config.json: 'hidden_size' must be an integer, got float");
  EXPECT_EQ(error_of(R"({"model_type":"llama","vocab_size":4294967296})"),
            "config.json: 'vocab_size' = 4294967296 is out of range");
  EXPECT_EQ(error_of(R"({"model_type":"llama","rms_norm_eps":"small"})"),
            "config.json: 'rms_norm_eps' must be a number, got string");
  EXPECT_EQ(error_of(R"({"model_type":"llama","tie_word_embeddings":1})"),
            "config.json: 'tie_word_embeddings' must be true or false, got integer");
  EXPECT_EQ(error_of(R"({"model_type":"llama","eos_token_id":"2"})"),
            "config.json: 'eos_token_id' must be an integer or a list of integers, got string");
  EXPECT_EQ(error_of(R"({"model_type":"llama","eos_token_id":[2,null]})"),
            "config.json: 'eos_token_id[1]' must be an integer, got null");
  EXPECT_EQ(error_of(R"({"model_type":"gpt2"})"),
            "config.json: unsupported architecture 'gpt2' (supported: llama, mistral, qwen2, qwen3)");
  EXPECT_EQ(error_of(R"({"hidden_size":64})"),
            "config.json: missing 'model_type' (supported: llama, mistral, qwen2, qwen3)");
  EXPECT_EQ(error_of(R"({"model_type":7})"), "config.json: 'model_type' must be a string, got integer");
  EXPECT_EQ(error_of("[]"), "config.json: expected a JSON object, got array");
  EXPECT_EQ(error_of(R"({"model_type":"llama")").rfind("config.json: invalid JSON: ", 0), 0u);
  EXPECT_EQ(error_of(with(R"("rope_scaling":{"rope_type":"yarn","factor":4.0})")),
            "config.json: rope type 'yarn' in 'rope_scaling' is not supported (supported: default, "
            "linear, llama3)");
  EXPECT_EQ(error_of(with(R"("rope_parameters":{"rope_type":"dynamic","factor":2.0,"rope_theta":1e4})")),
            "config.json: rope type 'dynamic' in 'rope_parameters' is not supported (supported: "
            "default, linear, llama3)");
  EXPECT_EQ(error_of(with(R"("rope_scaling":{"type":"longrope"})")),
            "config.json: rope type 'longrope' in 'rope_scaling' is not supported (supported: "
            "default, linear, llama3)");
  EXPECT_EQ(error_of(with(R"("rope_scaling":{"rope_type":"llama3","factor":8.0})")),
            "config.json: missing 'rope_scaling.low_freq_factor'");
  EXPECT_EQ(error_of(with(R"("rope_scaling":{"rope_type":"linear"})")),
            "config.json: missing 'rope_scaling.factor'");
  EXPECT_EQ(error_of(with(R"("rope_scaling":"linear")")),
            "config.json: 'rope_scaling' must be an object or null, got string");
  EXPECT_EQ(error_of(with(R"("rope_parameters":{"rope_theta":"big"})")),
            "config.json: 'rope_parameters.rope_theta' must be a number, got string");
  EXPECT_EQ(error_of(with(R"("hidden_act":"gelu")")),
            "config.json: hidden_act 'gelu' is not supported (only silu)");
  EXPECT_EQ(error_of(with(R"("mlp_bias":true)")), "config.json: mlp_bias true is not supported");
  EXPECT_EQ(error_of(with(R"("num_key_value_heads":3)")),
            "config.json: num_attention_heads (4) is not a multiple of num_key_value_heads (3)");
  EXPECT_EQ(error_of(R"({"model_type":"llama","num_attention_heads":0})"),
            "config.json: 'num_attention_heads' must be positive, got 0");
  EXPECT_EQ(error_of(with(R"("eos_token_id":100)")),
            "config.json: eos_token_id 100 outside vocabulary of 100");
  EXPECT_EQ(error_of(with(R"("bos_token_id":-2)")),
            "config.json: 'bos_token_id' must not be negative, got -2");
}

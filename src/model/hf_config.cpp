// config.json parsing is a table of (key, transformers default) lookups with strict type
// checks: configs on the Hub are hand-edited, and a float where an int belongs, or a rope
// type we do not implement, must stop the import with the key named rather than produce a
// model that silently computes the wrong thing.
#include "model/hf_config.h"

#include <climits>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/error.h"

namespace tessera {

using nlohmann::json;

namespace {

std::string json_kind(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    case json::value_t::number_float: return "float";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    default: return "binary";
  }
}

// Reads keys of one JSON object with the error messages naming the file and key path.
class Fields {
 public:
  Fields(const json& obj, std::string where, std::string prefix = "")
      : obj_(obj), where_(std::move(where)), prefix_(std::move(prefix)) {}

  const json* find(const char* key) const {
    auto it = obj_.find(key);
    return it == obj_.end() ? nullptr : &*it;
  }
  // Absent and null both mean "use the default", as in transformers.
  bool present(const char* key) const {
    const json* v = find(key);
    return v && !v->is_null();
  }

  int integer(const char* key, std::optional<int> dflt) const {
    const json* v = find(key);
    if (!v || v->is_null()) {
      if (!dflt) fail("{}: missing '{}{}'", where_, prefix_, key);
      return *dflt;
    }
    return as_int(*v, key);
  }
  int as_int(const json& v, const std::string& key) const {
    if (!v.is_number_integer())
      fail("{}: '{}{}' must be an integer, got {}", where_, prefix_, key, json_kind(v));
    if (v.is_number_unsigned()) {
      auto u = v.get<uint64_t>();
      if (u > uint64_t(INT_MAX)) fail("{}: '{}{}' = {} is out of range", where_, prefix_, key, u);
      return int(u);
    }
    auto i = v.get<int64_t>();
    if (i > INT_MAX || i < INT_MIN) fail("{}: '{}{}' = {} is out of range", where_, prefix_, key, i);
    return int(i);
  }
  float number(const char* key, std::optional<float> dflt) const {
    const json* v = find(key);
    if (!v || v->is_null()) {
      if (!dflt) fail("{}: missing '{}{}'", where_, prefix_, key);
      return *dflt;
    }
    if (!v->is_number()) fail("{}: '{}{}' must be a number, got {}", where_, prefix_, key, json_kind(*v));
    double d = v->get<double>();
    if (!std::isfinite(d) || std::fabs(d) > 3.0e38)
      fail("{}: '{}{}' = {} is out of range", where_, prefix_, key, d);
    return float(d);
  }
  bool boolean(const char* key, bool dflt) const {
    const json* v = find(key);
    if (!v || v->is_null()) return dflt;
    if (!v->is_boolean()) fail("{}: '{}{}' must be true or false, got {}", where_, prefix_, key, json_kind(*v));
    return v->get<bool>();
  }
  std::optional<std::string> string(const char* key) const {
    const json* v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_string()) fail("{}: '{}{}' must be a string, got {}", where_, prefix_, key, json_kind(*v));
    return v->get<std::string>();
  }
  // An int, a list of ints, or null/absent (-> dflt).
  std::vector<int> int_list(const char* key, std::vector<int> dflt) const {
    const json* v = find(key);
    if (!v || v->is_null()) return dflt;
    std::vector<int> out;
    if (v->is_array()) {
      for (size_t i = 0; i < v->size(); ++i)
        out.push_back(as_int((*v)[i], fmt::format("{}[{}]", key, i)));
      return out;
    }
    if (!v->is_number_integer())
      fail("{}: '{}{}' must be an integer or a list of integers, got {}", where_, prefix_, key,
           json_kind(*v));
    out.push_back(as_int(*v, key));
    return out;
  }

 private:
  const json& obj_;
  std::string where_, prefix_;
};

struct ArchDefaults {
  int vocab, hidden, intermediate, layers, heads;
  std::optional<int> kv_heads;   // nullopt: = heads
  std::optional<int> head_dim;   // nullopt: hidden / heads
  int max_pos;
  int bos;                       // -1: none
  std::vector<int> eos;
};

// transformers 5.x class defaults (LlamaConfig(), MistralConfig(), Qwen2Config(), Qwen3Config()).
ArchDefaults defaults_for(Arch a) {
  switch (a) {
    case Arch::Llama: return {32000, 4096, 11008, 32, 32, std::nullopt, std::nullopt, 2048, 1, {2}};
    case Arch::Mistral: return {32000, 4096, 14336, 32, 32, 8, std::nullopt, 131072, 1, {2}};
    case Arch::Qwen2: return {151936, 4096, 22016, 32, 32, 32, std::nullopt, 32768, -1, {}};
    case Arch::Qwen3: return {151936, 4096, 22016, 32, 32, 32, 128, 32768, -1, {}};
  }
  TS_CHECK(false, "unknown arch");
}

void parse_rope(const json& j, const std::string& where, ModelConfig& c) {
  Fields top(j, where);
  // 5.x: everything in rope_parameters. Older: rope_theta at top level + rope_scaling.
  const json* params = nullptr;
  std::string key;
  for (const char* k : {"rope_parameters", "rope_scaling"}) {
    if (top.present(k)) {
      params = top.find(k);
      key = k;
      break;
    }
  }
  c.rope_theta = top.number("rope_theta", 10000.f);
  if (!params) return;
  if (!params->is_object())
    fail("{}: '{}' must be an object or null, got {}", where, key, json_kind(*params));
  Fields p(*params, where, key + ".");
  if (p.present("rope_theta")) c.rope_theta = p.number("rope_theta", std::nullopt);
  auto type = p.string("rope_type");
  if (!type) type = p.string("type");
  std::string t = type.value_or("default");
  if (t == "default") {
    c.rope_scaling = {};
  } else if (t == "linear") {
    c.rope_scaling.type = RopeScaling::Type::Linear;
    c.rope_scaling.factor = p.number("factor", std::nullopt);
  } else if (t == "llama3") {
    c.rope_scaling.type = RopeScaling::Type::Llama3;
    c.rope_scaling.factor = p.number("factor", std::nullopt);
    c.rope_scaling.low_freq_factor = p.number("low_freq_factor", std::nullopt);
    c.rope_scaling.high_freq_factor = p.number("high_freq_factor", std::nullopt);
    c.rope_scaling.original_max_position_embeddings =
        p.integer("original_max_position_embeddings", std::nullopt);
    if (c.rope_scaling.original_max_position_embeddings <= 0)
      fail("{}: '{}.original_max_position_embeddings' must be positive, got {}", where, key,
           c.rope_scaling.original_max_position_embeddings);
  } else {
    fail("{}: rope type '{}' in '{}' is not supported (supported: default, linear, llama3)",
         where, t, key);
  }
}

}  // namespace

ModelConfig parse_hf_config(const json& j, const std::string& where) {
  if (!j.is_object()) fail("{}: expected a JSON object, got {}", where, json_kind(j));
  Fields f(j, where);
  auto model_type = f.string("model_type");
  if (!model_type) fail("{}: missing 'model_type' (supported: llama, mistral, qwen2, qwen3)", where);
  ModelConfig c;
  c.arch = parse_arch(*model_type, where);
  const ArchDefaults d = defaults_for(c.arch);

  if (auto act = f.string("hidden_act"); act && *act != "silu")
    fail("{}: hidden_act '{}' is not supported (only silu)", where, *act);
  if (f.boolean("mlp_bias", false)) fail("{}: mlp_bias true is not supported", where);

  c.vocab_size = f.integer("vocab_size", d.vocab);
  c.hidden_size = f.integer("hidden_size", d.hidden);
  c.intermediate_size = f.integer("intermediate_size", d.intermediate);
  c.num_layers = f.integer("num_hidden_layers", d.layers);
  c.num_heads = f.integer("num_attention_heads", d.heads);
  // Explicit null means "same as heads" in every config class; absent means the class default.
  if (const json* kv = f.find("num_key_value_heads"); kv && kv->is_null())
    c.num_kv_heads = c.num_heads;
  else
    c.num_kv_heads = f.integer("num_key_value_heads", d.kv_heads.value_or(c.num_heads));
  if (c.num_heads <= 0) fail("{}: 'num_attention_heads' must be positive, got {}", where, c.num_heads);
  // An explicit null head_dim means "derive it", even for qwen3 whose default is 128.
  if (const json* hd = f.find("head_dim"); hd && hd->is_null())
    c.head_dim = c.hidden_size / c.num_heads;
  else
    c.head_dim = f.integer("head_dim", d.head_dim.value_or(c.hidden_size / c.num_heads));
  c.max_position_embeddings = f.integer("max_position_embeddings", d.max_pos);
  c.rms_norm_eps = f.number("rms_norm_eps", 1e-6f);
  parse_rope(j, where, c);

  c.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  switch (c.arch) {
    case Arch::Llama: c.attention_bias = f.boolean("attention_bias", false); break;
    case Arch::Mistral: c.attention_bias = false; break;
    case Arch::Qwen2: c.attention_bias = true; break;
    case Arch::Qwen3:
      c.attention_bias = f.boolean("attention_bias", false);
      c.qk_norm = true;
      break;
  }

  // Tessera attends over the whole context; a sliding window is honoured by capping the
  // context to it, so every position it runs is one where both agree.
  bool sliding = c.arch == Arch::Mistral || f.boolean("use_sliding_window", false);
  if (sliding && f.present("sliding_window")) {
    int w = f.integer("sliding_window", std::nullopt);
    if (w > 0 && w < c.max_position_embeddings) c.max_position_embeddings = w;
  }

  if (const json* b = f.find("bos_token_id"); b && b->is_null())
    c.bos_token_id = -1;
  else
    c.bos_token_id = f.integer("bos_token_id", d.bos);
  if (c.bos_token_id < -1) fail("{}: 'bos_token_id' must not be negative, got {}", where, c.bos_token_id);
  if (const json* e = f.find("eos_token_id"); e && e->is_null())
    c.eos_token_ids.clear();
  else
    c.eos_token_ids = f.int_list("eos_token_id", d.eos);
  c.validate(where);
  return c;
}

json parse_json_text(std::string_view text, const std::string& where) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    fail("{}: invalid JSON: {}", where, e.what());
  }
}

json read_json_file(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) fail("{}: cannot read: {}", path, ec.message());
  constexpr uintmax_t kMax = 256u << 20;
  if (size > kMax) fail("{}: {} bytes is too large for a JSON file (limit {})", path, size, kMax);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open for reading", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail("{}: read error", path);
  return parse_json_text(ss.str(), path);
}

ModelConfig parse_hf_config_text(std::string_view text, const std::string& where) {
  return parse_hf_config(parse_json_text(text, where), where);
}

HfGenerationConfig parse_hf_generation_config(const json& j, const std::string& where) {
  if (!j.is_object()) fail("{}: expected a JSON object, got {}", where, json_kind(j));
  Fields f(j, where);
  HfGenerationConfig g;
  g.bos_token_id = f.integer("bos_token_id", -1);
  if (g.bos_token_id < -1) fail("{}: 'bos_token_id' must not be negative, got {}", where, g.bos_token_id);
  g.eos_token_ids = f.int_list("eos_token_id", {});
  for (int e : g.eos_token_ids)
    if (e < 0) fail("{}: 'eos_token_id' must not be negative, got {}", where, e);
  return g;
}

std::string hf_architecture_class(Arch a) {
  switch (a) {
    case Arch::Llama: return "LlamaForCausalLM";
    case Arch::Mistral: return "MistralForCausalLM";
    case Arch::Qwen2: return "Qwen2ForCausalLM";
    case Arch::Qwen3: return "Qwen3ForCausalLM";
  }
  return "?";
}

namespace {

const char* torch_dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
  }
  return "?";
}

// The shortest decimal that reads back as the same float, so 1e-5f is written as 1e-05
// rather than 9.999999747378752e-06.
json float_json(float f) { return std::stod(fmt::format("{}", f)); }

json eos_json(const std::vector<int>& eos) {
  if (eos.empty()) return nullptr;
  if (eos.size() == 1) return eos[0];
  return eos;
}

}  // namespace

json hf_config_json(const ModelConfig& c, DType dtype) {
  if (!c.rope_freq_factors.empty())
    fail("config.json cannot express per-frequency rope factors (rope_freqs); "
         "the model needs rope_scaling parameters instead");
  json j;
  j["architectures"] = {hf_architecture_class(c.arch)};
  j["model_type"] = arch_name(c.arch);
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_layers;
  j["num_attention_heads"] = c.num_heads;
  j["num_key_value_heads"] = c.num_kv_heads;
  j["head_dim"] = c.head_dim;
  j["hidden_act"] = "silu";
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = float_json(c.rms_norm_eps);
  // Both spellings: transformers 5.x reads rope_parameters, 4.x rope_theta + rope_scaling.
  json params = {{"rope_theta", float_json(c.rope_theta)}};
  json scaling = nullptr;
  switch (c.rope_scaling.type) {
    case RopeScaling::Type::None: params["rope_type"] = "default"; break;
    case RopeScaling::Type::Linear:
      scaling = {{"rope_type", "linear"}, {"factor", float_json(c.rope_scaling.factor)}};
      break;
    case RopeScaling::Type::Llama3:
      scaling = {{"rope_type", "llama3"},
                 {"factor", float_json(c.rope_scaling.factor)},
                 {"low_freq_factor", float_json(c.rope_scaling.low_freq_factor)},
                 {"high_freq_factor", float_json(c.rope_scaling.high_freq_factor)},
                 {"original_max_position_embeddings",
                  c.rope_scaling.original_max_position_embeddings}};
      break;
  }
  if (!scaling.is_null()) params.update(scaling);
  j["rope_theta"] = float_json(c.rope_theta);
  j["rope_scaling"] = scaling;
  j["rope_parameters"] = params;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  if (c.arch != Arch::Mistral) j["attention_bias"] = c.attention_bias;
  if (c.arch == Arch::Mistral) j["sliding_window"] = nullptr;
  if (c.arch == Arch::Qwen2 || c.arch == Arch::Qwen3) j["use_sliding_window"] = false;
  j["bos_token_id"] = c.bos_token_id >= 0 ? json(c.bos_token_id) : json(nullptr);
  j["eos_token_id"] = eos_json(c.eos_token_ids);
  j["dtype"] = torch_dtype_name(dtype);
  j["torch_dtype"] = torch_dtype_name(dtype);
  return j;
}

json hf_generation_config_json(const ModelConfig& c) {
  json j = json::object();
  if (c.bos_token_id >= 0) j["bos_token_id"] = c.bos_token_id;
  if (!c.eos_token_ids.empty()) j["eos_token_id"] = eos_json(c.eos_token_ids);
  return j;
}

}  // namespace tessera

// Hugging Face config.json / generation_config.json <-> ModelConfig.
// Parsing follows what transformers itself does with a config (its per-architecture
// defaults, both the 5.x "rope_parameters" and the older "rope_theta" + "rope_scaling"
// spellings), and rejects what Tessera cannot run faithfully (other rope types, other
// activations, MLP biases) instead of silently computing something else.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "model/model.h"

namespace tessera {

// `where` names the file in error messages, e.g. "model/config.json".
// Returns a config that passed ModelConfig::validate.
ModelConfig parse_hf_config(const nlohmann::json& j, const std::string& where);
// Same from JSON text; syntax errors become tessera::Error naming `where`.
ModelConfig parse_hf_config_text(std::string_view text, const std::string& where);

struct HfGenerationConfig {
  int bos_token_id = -1;  // -1: not given
  std::vector<int> eos_token_ids;
};
HfGenerationConfig parse_hf_generation_config(const nlohmann::json& j, const std::string& where);

// JSON text -> json, turning nlohmann's parse errors into tessera::Error naming `where`.
nlohmann::json parse_json_text(std::string_view text, const std::string& where);
// Reads and parses a JSON file (bounded size), errors naming the path.
nlohmann::json read_json_file(const std::string& path);

// The inverse: a config.json that transformers 4.x and 5.x both load (both rope spellings
// are written), declaring `dtype` as the checkpoint's dtype.
nlohmann::json hf_config_json(const ModelConfig& c, DType dtype);
nlohmann::json hf_generation_config_json(const ModelConfig& c);

// "LlamaForCausalLM", ...
std::string hf_architecture_class(Arch a);

}  // namespace tessera

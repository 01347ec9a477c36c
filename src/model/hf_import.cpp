// Hugging Face directory import. The weights are taken by the names the config implies
// (model/weight_names.h) rather than by whatever the file holds: checkpoints carry extra
// buffers (rotary inv_freq, duplicated tied heads) that must be ignored, while a missing
// expected weight must fail with its name, which Model::validate does.
#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "model/hf_config.h"
#include "model/load.h"
#include "model/safetensors.h"
#include "model/weight_names.h"

namespace tessera {

Model load_hf(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path d(dir);
  std::error_code ec;
  const std::string config_path = (d / "config.json").string();
  if (!fs::exists(config_path, ec)) fail("{}: directory has no config.json", dir);

  Model m;
  m.source = dir;
  m.format = "hf";
  m.config = parse_hf_config(read_json_file(config_path), config_path);

  const std::string gen_path = (d / "generation_config.json").string();
  if (fs::exists(gen_path, ec)) {
    HfGenerationConfig g = parse_hf_generation_config(read_json_file(gen_path), gen_path);
    if (m.config.bos_token_id < 0) m.config.bos_token_id = g.bos_token_id;
    for (int e : g.eos_token_ids)
      if (std::find(m.config.eos_token_ids.begin(), m.config.eos_token_ids.end(), e) ==
          m.config.eos_token_ids.end())
        m.config.eos_token_ids.push_back(e);
    m.config.validate(gen_path);
  }

  const std::string single = (d / "model.safetensors").string();
  const std::string index = (d / "model.safetensors.index.json").string();
  std::map<std::string, Tensor> file;
  if (fs::exists(single, ec))
    file = load_safetensors(single);
  else if (fs::exists(index, ec))
    file = load_safetensors_index(index);
  else
    fail("{}: no model.safetensors or model.safetensors.index.json", dir);

  // Tied models use the embedding as the head; an lm_head.weight saved anyway is dropped
  // so every consumer sees the same single tensor.
  for (const auto& spec : canonical_weights(m.config)) {
    auto it = file.find(spec.name);
    if (it != file.end()) m.weights.emplace(spec.name, std::move(it->second));
  }
  m.validate();
  return m;
}

}  // namespace tessera

// Hugging Face directory export. Shards are planned from shapes alone before anything is
// written, so the index can name each tensor's shard and every tensor is still produced
// exactly once, streamed through its fill.
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "model/export.h"
#include "model/hf_config.h"
#include "model/safetensors.h"

namespace tessera {

namespace {

void write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("{}: cannot open for writing", path);
  out << j.dump(2) << "\n";
  out.close();
  if (!out) fail("{}: write failed", path);
}

}  // namespace

void write_hf(const ExportModel& m, const std::string& dir, DType dtype, int64_t shard_bytes) {
  namespace fs = std::filesystem;
  m.config.validate(dir);
  if (shard_bytes < 0) fail("{}: shard size must not be negative, got {}", dir, shard_bytes);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("{}: cannot create directory: {}", dir, ec.message());
  const fs::path d(dir);

  std::vector<SafetensorsWriteEntry> entries;
  for (const auto& t : m.tensors) {
    if (m.config.tie_word_embeddings && t.name == "lm_head.weight") continue;
    entries.push_back({t.name, t.shape, t.fill});
  }

  write_json((d / "config.json").string(), hf_config_json(m.config, dtype));
  write_json((d / "generation_config.json").string(), hf_generation_config_json(m.config));

  if (shard_bytes == 0) {
    write_safetensors((d / "model.safetensors").string(), entries, dtype);
    return;
  }
  // Greedy packing in tensor order; a tensor larger than shard_bytes gets a shard alone.
  std::vector<std::vector<SafetensorsWriteEntry>> shards(1);
  int64_t used = 0;
  for (auto& e : entries) {
    int64_t bytes = int64_t(dtype_size(dtype));
    for (int64_t x : e.shape) bytes *= x;
    if (!shards.back().empty() && used + bytes > shard_bytes) {
      shards.emplace_back();
      used = 0;
    }
    shards.back().push_back(std::move(e));
    used += bytes;
  }
  nlohmann::json weight_map = nlohmann::json::object();
  uint64_t total = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    total += write_safetensors((d / name).string(), shards[i], dtype);
    for (const auto& e : shards[i]) weight_map[e.name] = name;
  }
  write_json((d / "model.safetensors.index.json").string(),
             {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}});
  // A stale single-file checkpoint would take precedence over the index on load.
  fs::remove(d / "model.safetensors", ec);
}

}  // namespace tessera

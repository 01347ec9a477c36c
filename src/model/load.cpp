#include "model/load.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace tessera {

Model load_model(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("{}: no such file or directory", path);
  if (fs::is_directory(path, ec)) {
    if (!fs::exists(fs::path(path) / "config.json"))
      fail("{}: directory has no config.json (expected a Hugging Face model directory)", path);
    return load_hf(path);
  }
  char magic[4] = {0, 0, 0, 0};
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open for reading", path);
  in.read(magic, 4);
  if (in.gcount() == 4 && std::string(magic, 4) == "GGUF") return load_gguf(path);
  if (fs::path(path).filename() == "config.json") return load_hf(fs::path(path).parent_path());
  return load_llama2c(path);
}

}  // namespace tessera

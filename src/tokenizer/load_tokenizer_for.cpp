// Tokenizer discovery for a loaded model. An explicit path always wins; otherwise the
// places each format keeps its tokenizer are tried in a fixed order, and the error lists
// every place that was tried so the user knows what --tokenizer should point at.
#include <filesystem>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace tessera {

std::unique_ptr<Tokenizer> load_tokenizer_for(const Model& model,
                                              const std::optional<std::string>& explicit_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (explicit_path) {
    const std::string& p = *explicit_path;
    if (!fs::is_regular_file(p, ec)) fail("{}: tokenizer file not found", p);
    if (fs::path(p).extension() == ".json") return load_tokenizer_json(p);
    return load_llama2c_tokenizer(p, model.config.vocab_size);
  }
  std::vector<std::string> tried;
  fs::path src(model.source);
  if (model.format == "hf") {
    fs::path p = (fs::is_directory(src, ec) ? src : src.parent_path()) / "tokenizer.json";
    if (fs::is_regular_file(p, ec)) return load_tokenizer_json(p.string());
    tried.push_back(p.string());
  }
  if (model.vocab) return tokenizer_from_vocab(*model.vocab, model.source);
  tried.push_back("a vocabulary embedded in " + model.source);
  if (model.format == "llama2c") {
    fs::path p = src.parent_path() / "tokenizer.bin";
    if (fs::is_regular_file(p, ec)) return load_llama2c_tokenizer(p.string(), model.config.vocab_size);
    tried.push_back(p.string());
  }
  std::string list;
  for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
  fail("{}: no tokenizer found (looked for {}); pass one with --tokenizer PATH", model.source, list);
}

}  // namespace tessera

#include "cli/common.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "engine/cpu_engine.h"
#include "engine/generate.h"
#include "model/load.h"

namespace tessera::cli {

std::vector<int> parse_id_list(const std::string& text, const std::string& flag) {
  std::vector<int> ids;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    int v = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || v < 0)
      throw UsageError(fmt::format("{}: '{}' is not a non-negative integer (expected a "
                                   "comma-separated list like 1,2,3)",
                                   flag, item));
    ids.push_back(v);
    pos = comma + 1;
  }
  return ids;
}

Model load_model_verbose(const std::string& path) {
  auto t0 = std::chrono::steady_clock::now();
  fmt::print(stderr, "tessera: loading {} ...\n", path);
  Model m = load_model(path);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print(stderr, "tessera: loaded {} model ({}, {} layers, {:.1f}M parameters) in {:.2f} s\n",
             m.format, arch_name(m.config.arch), m.config.num_layers,
             double(m.parameter_count()) / 1e6, s);
  return m;
}

void run_generation(const Model& model, const Tokenizer* tok, const std::vector<int>& prompt_ids,
                    const GenerationOptions& opt) {
  if (opt.max_tokens < 0) throw UsageError("--max-tokens must be non-negative");
  BackendHandle engine = make_backend(model, opt.backend);
  Sampler sampler(opt.sampler);
  std::vector<int> eos;
  if (!opt.ignore_eos) {
    eos = model.config.eos_token_ids;
    if (tok)
      for (int e : tok->eos_ids())
        if (std::find(eos.begin(), eos.end(), e) == eos.end()) eos.push_back(e);
  }
  std::optional<StreamDecoder> stream;
  if (tok) stream.emplace(*tok, prompt_ids);
  auto on_token = [&](int id) {
    if (stream) {
      std::string piece = stream->push(id);
      std::fwrite(piece.data(), 1, piece.size(), stdout);
    } else {
      std::printf("%d\n", id);
    }
    std::fflush(stdout);
  };
  GenerateResult r = generate(*engine.backend, prompt_ids, opt.max_tokens, sampler, eos, on_token);
  if (stream) std::fputc('\n', stdout);
  std::fflush(stdout);
  size_t n = r.tokens.size();
  fmt::print(stderr,
             "tessera: prompt {} tokens in {:.3f} s ({:.1f} tok/s); generated {} tokens in {:.3f} s "
             "({:.1f} tok/s){}\n",
             prompt_ids.size(), r.prompt_seconds,
             r.prompt_seconds > 0 ? double(prompt_ids.size()) / r.prompt_seconds : 0.0, n,
             r.generate_seconds, r.generate_seconds > 0 ? double(n) / r.generate_seconds : 0.0,
             r.stopped_on_eos ? ", stopped at EOS" : "");
  if (opt.ids_out) {
    std::ofstream out(*opt.ids_out);
    if (!out) fail("{}: cannot open for writing", *opt.ids_out);
    out << nlohmann::json{{"prompt", prompt_ids}, {"generated", r.tokens}}.dump() << "\n";
    if (!out) fail("{}: write failed", *opt.ids_out);
  }
}

}  // namespace tessera::cli

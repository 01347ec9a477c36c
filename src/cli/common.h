// Pieces several subcommands share: id-list parsing, model loading with a progress line,
// and the streaming generation loop that prints text as tokens come.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/backends.h"
#include "engine/sampler.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace tessera::cli {

// "1,2,3" -> {1,2,3}; throws UsageError naming the flag on anything else.
std::vector<int> parse_id_list(const std::string& text, const std::string& flag);

// Loads with a one-line progress note on stderr (path, format, seconds).
Model load_model_verbose(const std::string& path);

struct GenerationOptions {
  int max_tokens = 128;
  SamplerConfig sampler;
  bool ignore_eos = false;
  BackendFlags backend;  // which engine runs the steps (cpu by default)
  std::optional<std::string> ids_out;  // JSON {"prompt": [...], "generated": [...]}
};

// Runs generation on the selected backend. When tok is given, streams the completion
// text to stdout (the caller has printed the prompt); otherwise prints generated ids one
// per line. Timing goes to stderr.
void run_generation(const Model& model, const Tokenizer* tok, const std::vector<int>& prompt_ids,
                    const GenerationOptions& opt);

}  // namespace tessera::cli

// tessera info: what a model file holds.
#include <map>

#include "chat/chat_template.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "model/load.h"

namespace tessera::cli {

namespace {

void add_info(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("info", "Print a model's architecture, parameter count and storage");
  cmd->add_option("--model", *path, "Model: HF directory, .gguf file or llama2.c .bin")->required();
  cmd->callback([path] {
    Model m = load_model(*path);
    const ModelConfig& c = m.config;
    fmt::print("model:          {}\n", m.source);
    fmt::print("format:         {}\n", m.format);
    fmt::print("architecture:   {}\n", arch_name(c.arch));
    fmt::print("layers:         {}\n", c.num_layers);
    fmt::print("hidden:         {}\n", c.hidden_size);
    fmt::print("intermediate:   {}\n", c.intermediate_size);
    fmt::print("heads:          {} query, {} key/value (head_dim {})\n", c.num_heads, c.num_kv_heads, c.head_dim);
    fmt::print("vocab:          {}\n", c.vocab_size);
    fmt::print("context:        {}\n", c.max_position_embeddings);
    std::string scaling = "none";
    if (c.rope_scaling.type == RopeScaling::Type::Llama3)
      scaling = fmt::format("llama3 (factor {}, low {}, high {}, original {})", c.rope_scaling.factor,
                            c.rope_scaling.low_freq_factor, c.rope_scaling.high_freq_factor,
                            c.rope_scaling.original_max_position_embeddings);
    else if (c.rope_scaling.type == RopeScaling::Type::Linear)
      scaling = fmt::format("linear (factor {})", c.rope_scaling.factor);
    else if (!c.rope_freq_factors.empty())
      scaling = fmt::format("per-frequency factors ({} values)", c.rope_freq_factors.size());
    fmt::print("rope:           theta {}, scaling {}\n", c.rope_theta, scaling);
    fmt::print("rms_norm_eps:   {}\n", c.rms_norm_eps);
    fmt::print("embeddings:     {}\n", c.tie_word_embeddings ? "tied" : "separate lm_head");
    fmt::print("qkv bias:       {}\n", c.attention_bias ? "yes" : "no");
    fmt::print("qk norm:        {}\n", c.qk_norm ? "yes" : "no");
    fmt::print("bos / eos:      {} / {}\n", c.bos_token_id, fmt::join(c.eos_token_ids, ","));
    fmt::print("parameters:     {} ({:.1f}M)\n", m.parameter_count(), double(m.parameter_count()) / 1e6);
    std::map<std::string, std::pair<int64_t, int64_t>> by_dtype;  // dtype -> (tensors, bytes)
    for (const auto& [name, t] : m.weights) {
      auto& e = by_dtype[std::string(dtype_name(t.dtype))];
      e.first += 1;
      e.second += int64_t(t.nbytes());
    }
    for (const auto& [dt, e] : by_dtype)
      fmt::print("bytes {:5}:    {} in {} tensors (as held in memory)\n", dt, e.second, e.first);
    std::map<std::string, std::pair<int64_t, int64_t>> in_file;  // file type -> (tensors, params)
    for (const auto& [name, type] : m.file_dtype) {
      auto& e = in_file[type];
      e.first += 1;
      e.second += m.weight(name).numel();
    }
    for (const auto& [type, e] : in_file)
      fmt::print("in file {:5}:  {} parameters in {} tensors\n", type, e.second, e.first);
    if (m.vocab)
      fmt::print("vocabulary:     embedded, {} tokens ({})\n", m.vocab->tokens.size(),
                 m.vocab->kind == VocabSpec::Kind::Spm ? "sentencepiece" : "byte-level BPE");
    if (!m.chat_template.empty()) {
      std::string fam;
      try {
        fam = chat_family_name(detect_chat_family(m.chat_template));
      } catch (const Error&) {
        fam = "unrecognised";
      }
      fmt::print("chat template:  {} ({} bytes)\n", fam, m.chat_template.size());
    }
  });
}

const CommandRegistration kRegistered(50, add_info);

}  // namespace

}  // namespace tessera::cli

// tessera generate: prompt in, completion streamed out (CPU reference engine for now).
#include <cstdio>

#include "chat/chat_template.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"

namespace tessera::cli {

namespace {

void add_generate(CLI::App& app) {
  struct Opts {
    std::string model, tokenizer, prompt, prompt_tokens, system;
    bool chat = false;
    GenerationOptions gen;
  };
  auto o = std::make_shared<Opts>();
  o->gen.sampler.temperature = 0.8f;
  auto* cmd = app.add_subcommand("generate", "Generate text from a prompt");
  cmd->add_option("--model", o->model, "Model: HF directory, .gguf file or llama2.c .bin")->required();
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json or llama2.c tokenizer.bin (default: the model's own)");
  auto* p = cmd->add_option("--prompt", o->prompt, "Prompt text");
  auto* pt = cmd->add_option("--prompt-tokens", o->prompt_tokens, "Prompt as token ids, e.g. 1,2,3 (no tokenizer needed)");
  p->excludes(pt);
  cmd->add_option("--max-tokens", o->gen.max_tokens, "Most tokens to generate")->capture_default_str();
  cmd->add_option("--temperature", o->gen.sampler.temperature, "Sampling temperature; 0 is greedy")->capture_default_str();
  cmd->add_option("--top-k", o->gen.sampler.top_k, "Keep the k most likely tokens (0: all)")->capture_default_str();
  cmd->add_option("--top-p", o->gen.sampler.top_p, "Nucleus sampling mass (1: all)")->capture_default_str();
  cmd->add_option("--seed", o->gen.sampler.seed, "Sampling seed")->capture_default_str();
  cmd->add_flag("--chat", o->chat, "Wrap the prompt in the model's chat template as a user turn");
  cmd->add_option("--system", o->system, "System prompt for --chat");
  cmd->add_flag("--ignore-eos", o->gen.ignore_eos, "Do not stop at end-of-sequence tokens");
  cmd->add_option("--ids-out", o->gen.ids_out, "Write {\"prompt\": [...], \"generated\": [...]} ids as JSON");
  add_backend_flags(cmd, o->gen.backend);
  cmd->callback([o] {
    if (o->prompt.empty() && o->prompt_tokens.empty())
      throw UsageError("generate: give --prompt TEXT or --prompt-tokens IDS");
    Model model = load_model_verbose(o->model);
    std::optional<std::string> tok_path;
    if (!o->tokenizer.empty()) tok_path = o->tokenizer;
    std::vector<int> ids;
    std::unique_ptr<Tokenizer> tok;
    if (!o->prompt_tokens.empty()) {
      ids = parse_id_list(o->prompt_tokens, "--prompt-tokens");
      // Token-id prompts need no tokenizer, but use one for readable output when present.
      try {
        tok = load_tokenizer_for(model, tok_path);
      } catch (const Error& e) {
        if (tok_path) throw;
        fmt::print(stderr, "tessera: no tokenizer ({}); printing token ids\n", e.what());
      }
      if (tok) {
        std::string text = tok->decode(ids);
        std::fwrite(text.data(), 1, text.size(), stdout);
      }
    } else {
      tok = load_tokenizer_for(model, tok_path);
      std::string text = o->prompt;
      if (o->chat) {
        std::vector<ChatMessage> msgs;
        if (!o->system.empty()) msgs.push_back({"system", o->system});
        msgs.push_back({"user", o->prompt});
        text = render_chat(model.chat_template, msgs);
      }
      ids = tok->encode(text, true);
      if (!o->chat) std::fwrite(o->prompt.data(), 1, o->prompt.size(), stdout);
      else std::fwrite(text.data(), 1, text.size(), stdout);
    }
    std::fflush(stdout);
    run_generation(model, tok.get(), ids, o->gen);
  });
}

const CommandRegistration kRegistered(10, add_generate);

}  // namespace

}  // namespace tessera::cli

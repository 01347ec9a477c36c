// tessera logits: every position's logits as a .npy [n_tokens, vocab] float32 array, for
// comparison against other implementations.
#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/npy.h"
#include "engine/cpu_engine.h"

namespace tessera::cli {

namespace {

void add_logits(CLI::App& app) {
  struct Opts {
    std::string model, tokenizer, tokens, prompt, out;
    int threads = 0;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("logits", "Write the logits of every position to a .npy file");
  cmd->add_option("--model", o->model, "Model: HF directory, .gguf file or llama2.c .bin")->required();
  auto* t = cmd->add_option("--tokens", o->tokens, "Input token ids, e.g. 1,2,3");
  auto* p = cmd->add_option("--prompt", o->prompt, "Input text (tokenized with the model's tokenizer, BOS per format)");
  t->excludes(p);
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json or tokenizer.bin for --prompt");
  cmd->add_option("--out", o->out, "Output .npy file (float32 [n_tokens, vocab])")->required();
  cmd->add_option("--threads", o->threads, "CPU threads (0: all cores)");
  cmd->callback([o] {
    if (o->tokens.empty() && o->prompt.empty()) throw UsageError("logits: give --tokens IDS or --prompt TEXT");
    Model model = load_model_verbose(o->model);
    std::vector<int> ids;
    if (!o->tokens.empty()) {
      ids = parse_id_list(o->tokens, "--tokens");
    } else {
      std::optional<std::string> tp;
      if (!o->tokenizer.empty()) tp = o->tokenizer;
      ids = load_tokenizer_for(model, tp)->encode(o->prompt, true);
    }
    if (int64_t(ids.size()) > model.config.max_position_embeddings)
      fail("{} tokens exceed the model's context of {} tokens", ids.size(),
           model.config.max_position_embeddings);
    const int vocab = model.config.vocab_size;
    CpuEngine engine(model, int(ids.size()), o->threads);
    std::vector<float> all;
    all.reserve(ids.size() * size_t(vocab));
    for (size_t i = 0; i < ids.size(); ++i) {
      const auto& l = engine.forward(ids[i], int(i));
      all.insert(all.end(), l.begin(), l.end());
    }
    write_npy_f32(o->out, {int64_t(ids.size()), vocab}, all);
    fmt::print(stderr, "tessera: wrote logits [{}, {}] to {}\n", ids.size(), vocab, o->out);
  });
}

const CommandRegistration kRegistered(20, add_logits);

}  // namespace

}  // namespace tessera::cli

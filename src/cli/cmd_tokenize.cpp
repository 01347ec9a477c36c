// tessera tokenize: text -> ids with the model's tokenizer. --text prints ids; --in/--out
// map a JSON-lines file of strings to a JSON-lines file of id arrays (used by
// tools/tokenizer_compare.py against Hugging Face's tokenizers).
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "model/load.h"

namespace tessera::cli {

namespace {

void add_tokenize(CLI::App& app) {
  struct Opts {
    std::string model, tokenizer, text, in, out;
    bool no_special = false, decode = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("tokenize", "Turn text into token ids");
  cmd->add_option("--model", o->model, "Model whose tokenizer to use");
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json or tokenizer.bin (instead of or besides --model)");
  auto* t = cmd->add_option("--text", o->text, "Text to tokenize; prints the ids");
  auto* i = cmd->add_option("--in", o->in, "JSON-lines file, one string per line");
  t->excludes(i);
  cmd->add_option("--out", o->out, "JSON-lines output, one id array per input line (with --in)");
  cmd->add_flag("--no-special", o->no_special, "Do not add BOS/EOS");
  cmd->add_flag("--decode", o->decode, "Also print the decoded text (with --text)");
  cmd->callback([o] {
    if (o->model.empty() && o->tokenizer.empty()) throw UsageError("tokenize: give --model or --tokenizer");
    if (o->text.empty() == o->in.empty()) throw UsageError("tokenize: give exactly one of --text or --in");
    if (!o->in.empty() && o->out.empty()) throw UsageError("tokenize: --in needs --out");
    std::unique_ptr<Tokenizer> tok;
    std::optional<std::string> tp;
    if (!o->tokenizer.empty()) tp = o->tokenizer;
    if (!o->model.empty()) {
      Model model = load_model(o->model);
      tok = load_tokenizer_for(model, tp);
    } else if (o->tokenizer.size() >= 5 && o->tokenizer.ends_with(".json")) {
      tok = load_tokenizer_json(o->tokenizer);
    } else {
      tok = load_llama2c_tokenizer(o->tokenizer, 0);
    }
    if (!o->text.empty()) {
      auto ids = tok->encode(o->text, !o->no_special);
      fmt::print("{}\n", nlohmann::json(ids).dump());
      if (o->decode) fmt::print("{}\n", tok->decode(ids));
      return;
    }
    std::ifstream in(o->in);
    if (!in) fail("{}: cannot open for reading", o->in);
    std::ofstream out(o->out);
    if (!out) fail("{}: cannot open for writing", o->out);
    std::string line;
    size_t lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      if (line.empty()) continue;
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        fail("{}:{}: not valid JSON: {}", o->in, lineno, e.what());
      }
      if (!j.is_string()) fail("{}:{}: expected a JSON string", o->in, lineno);
      try {
        out << nlohmann::json(tok->encode(j.get<std::string>(), !o->no_special)).dump() << "\n";
      } catch (const Error& e) {
        fail("{}:{}: {}", o->in, lineno, e.what());
      }
    }
    if (!out) fail("{}: write failed", o->out);
  });
}

const CommandRegistration kRegistered(30, add_tokenize);

}  // namespace

}  // namespace tessera::cli

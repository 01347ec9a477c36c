// tessera make-model: a model of a built-in shape with deterministic random weights, in
// any importable format, with a tokenizer in that format's own style.
#include <atomic>
#include <chrono>
#include <filesystem>

#include "cli/commands.h"
#include "core/error.h"
#include "model/export.h"
#include "model/shapes.h"
#include "tokenizer/tokenizer.h"

namespace tessera::cli {
namespace {

DType parse_dtype(const std::string& s, int64_t params) {
  if (s == "f32") return DType::F32;
  if (s == "f16") return DType::F16;
  if (s == "bf16") return DType::BF16;
  // auto: fp32 while the file stays under 2 GB, bf16 beyond (an 8B model in fp32 would
  // not fit a 24 GB machine's page cache next to anything else).
  return params * 4 < (int64_t(2) << 30) ? DType::F32 : DType::BF16;
}

// Wraps every tensor's fill so long writes report progress on stderr.
void add_progress(std::vector<TensorEntry>& tensors) {
  int64_t total = 0;
  for (const auto& t : tensors) total += t.numel();
  if (total < 200'000'000) return;
  auto done = std::make_shared<std::atomic<int64_t>>(0);
  auto start = std::chrono::steady_clock::now();
  for (auto& t : tensors) {
    auto inner = t.fill;
    int64_t n = t.numel();
    t.fill = [inner, n, total, done, start](float* dst) {
      inner(dst);
      int64_t before = done->fetch_add(n);
      int64_t after = before + n;
      if (after * 20 / total != before * 20 / total || after == total) {
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        fmt::print(stderr, "tessera: make-model {:3d}% ({:.2f}B parameters, {:.0f} s)\n",
                   int(after * 100 / total), double(after) / 1e9, s);
      }
    };
  }
}

}  // namespace

namespace {

void add_make_model(CLI::App& app) {
  struct Opts {
    std::string shape, format, out, dtype = "auto";
    uint64_t seed = 0;
    int64_t shard_mb = 0;
  };
  auto o = std::make_shared<Opts>();
  std::string shapes;
  for (const auto& s : shape_names()) shapes += (shapes.empty() ? "" : ", ") + s;
  auto* cmd = app.add_subcommand("make-model", "Write a model of a built-in shape with seeded random weights");
  cmd->add_option("--shape", o->shape, "Shape: " + shapes)->required()->check(CLI::IsMember(shape_names()));
  cmd->add_option("--format", o->format, "hf (directory), gguf (file) or llama2c (.bin + tokenizer.bin beside it)")
      ->required()
      ->check(CLI::IsMember({"hf", "gguf", "llama2c"}));
  cmd->add_option("--out", o->out, "Output directory (hf) or file (gguf, llama2c)")->required();
  cmd->add_option("--seed", o->seed, "Weight seed")->capture_default_str();
  cmd->add_option("--dtype", o->dtype, "Stored dtype: f32, f16, bf16 or auto (f32 below 2 GB)")
      ->check(CLI::IsMember({"auto", "f32", "f16", "bf16"}))
      ->capture_default_str();
  cmd->add_option("--shard-mb", o->shard_mb, "hf: split model.safetensors into shards of this many MB (0: one file)");
  cmd->callback([o] {
    namespace fs = std::filesystem;
    ExportModel em;
    em.config = shape_config(o->shape);
    em.tensors = random_tensors(em.config, o->seed);
    int64_t params = 0;
    for (const auto& t : em.tensors) params += t.numel();
    DType dtype = parse_dtype(o->dtype, params);
    if (o->format == "llama2c" && dtype != DType::F32)
      throw UsageError("make-model: llama2c checkpoints are fp32 only (use --dtype f32 or auto)");
    VocabSpec::Kind kind = o->format == "llama2c" ? VocabSpec::Kind::Spm : VocabSpec::Kind::Gpt2Bpe;
    em.vocab = make_builtin_vocab(em.config.vocab_size, kind);
    em.config.bos_token_id = em.vocab.bos_id;
    em.config.eos_token_ids = {em.vocab.eos_id};
    add_progress(em.tensors);
    fmt::print(stderr, "tessera: writing {} ({:.1f}M parameters, {}) as {} to {}\n", o->shape,
               double(params) / 1e6, dtype_name(dtype), o->format, o->out);
    if (o->format == "hf") {
      fs::create_directories(o->out);
      write_hf(em, o->out, dtype, o->shard_mb * (int64_t(1) << 20));
      write_tokenizer_json(em.vocab, (fs::path(o->out) / "tokenizer.json").string());
    } else if (o->format == "gguf") {
      if (fs::path(o->out).has_parent_path()) fs::create_directories(fs::path(o->out).parent_path());
      write_gguf(em, o->out, dtype);
    } else {
      if (fs::path(o->out).has_parent_path()) fs::create_directories(fs::path(o->out).parent_path());
      write_llama2c(em, o->out);
      write_llama2c_tokenizer(em.vocab, (fs::path(o->out).parent_path() / "tokenizer.bin").string());
    }
    fmt::print(stderr, "tessera: wrote {}\n", o->out);
  });
}

const CommandRegistration kRegistered(40, add_make_model);

}  // namespace

}  // namespace tessera::cli

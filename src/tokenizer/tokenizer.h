// Text <-> token ids. One interface over every vocabulary Tessera reads:
//   - Hugging Face tokenizer.json: byte-level BPE (Llama 3, Qwen, SmolLM; pre-tokenizer
//     regex run through PCRE2) and SentencePiece-style BPE with byte fallback (Llama 2,
//     TinyLlama, Mistral);
//   - GGUF embedded vocabularies (tokenizer.ggml.model "llama" = SPM, "gpt2" = BPE);
//   - llama2.c tokenizer.bin.
// Decoding is byte-exact: decode(encode(s)) == s for every valid UTF-8 s (modulo the
// normalisations the format itself defines, e.g. SPM's added leading space, which decode
// removes again).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.h"

namespace tessera {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // add_special: prepend BOS / append EOS as the format's settings say (HF post_processor,
  // GGUF add_bos_token/add_eos_token, llama2.c: BOS always). Special tokens written in the
  // text (e.g. "<|im_start|>") are recognised as such. Throws tessera::Error on invalid
  // UTF-8, naming the byte offset.
  virtual std::vector<int> encode(std::string_view text, bool add_special) const = 0;
  // Concatenated text of ids; special/control tokens (BOS, EOS, ...) decode to "" unless
  // keep_special. Byte-level and byte-fallback tokens decode to their raw bytes, so a
  // prefix of ids may end in the middle of a UTF-8 character.
  virtual std::string decode(const std::vector<int>& ids, bool keep_special = false) const = 0;
  virtual int vocab_size() const = 0;
  virtual int bos_id() const = 0;                       // -1 if none
  virtual std::vector<int> eos_ids() const = 0;         // tokens that end generation
  virtual std::optional<int> token_id(std::string_view token) const = 0;  // exact lookup
  virtual std::string token_text(int id) const = 0;     // the vocabulary entry as stored
};

// Streams the text of a growing id sequence: push() returns exactly the bytes that
// decode(all ids so far) adds beyond what was already returned, so the concatenated
// output equals decode(ids) byte for byte.
class StreamDecoder {
 public:
  StreamDecoder(const Tokenizer& tok, std::vector<int> context);
  std::string push(int id);

 private:
  const Tokenizer& tok_;
  std::vector<int> ids_;
  size_t emitted_;
};

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& path);
std::unique_ptr<Tokenizer> load_llama2c_tokenizer(const std::string& path, int vocab_size);
std::unique_ptr<Tokenizer> tokenizer_from_vocab(const VocabSpec& vocab, const std::string& where);

// The tokenizer for a model: explicit_path if given (tokenizer.json or tokenizer.bin),
// else tokenizer.json in an HF model directory, else the vocabulary embedded in the file,
// else tokenizer.bin beside a llama2.c checkpoint. Throws tessera::Error saying what was
// looked for when none is found.
std::unique_ptr<Tokenizer> load_tokenizer_for(const Model& model,
                                              const std::optional<std::string>& explicit_path);

// A small deterministic vocabulary for generated models (make-model): all 256 bytes plus
// merges learned from a built-in English text, padded with reserved special tokens to
// vocab_size, with BOS and EOS. Kind Gpt2Bpe (byte-level) or Spm (byte fallback).
VocabSpec make_builtin_vocab(int vocab_size, VocabSpec::Kind kind);
// Writers so generated models carry a tokenizer in their own format.
void write_tokenizer_json(const VocabSpec& vocab, const std::string& path);
void write_llama2c_tokenizer(const VocabSpec& vocab, const std::string& path);

}  // namespace tessera

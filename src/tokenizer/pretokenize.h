// Pre-tokenisation: cutting a text segment into the pieces BPE runs on, as Hugging Face
// pre_tokenizers and llama.cpp's per-"pre" regex lists do. Each step maps the current list
// of pieces to a new one, so a Sequence is just the steps in order.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/regex.h"

namespace tessera {

class PreTokenizeStep {
 public:
  virtual ~PreTokenizeStep() = default;
  // first_segment: the pieces start at the beginning of the whole input text (the
  // Metaspace "first" prepend scheme needs to know).
  virtual void apply(std::vector<std::string>& pieces, bool first_segment) const = 0;
};

// Hugging Face SplitDelimiterBehavior.
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

std::unique_ptr<PreTokenizeStep> make_split(std::shared_ptr<const Regex> re, SplitBehavior b,
                                            bool invert);
// Digits: numeric characters isolated one by one, or in runs.
std::unique_ptr<PreTokenizeStep> make_digits(bool individual, const std::string& where);
// ByteLevel: optional prefix space, optional GPT-2 regex split, then the byte->char map.
std::unique_ptr<PreTokenizeStep> make_byte_level(bool add_prefix_space, bool use_regex,
                                                 const std::string& where);
enum class PrependScheme { Always, First, Never };
std::unique_ptr<PreTokenizeStep> make_metaspace(std::string replacement, PrependScheme scheme,
                                                bool split, const std::string& where);

void run_steps(const std::vector<std::unique_ptr<PreTokenizeStep>>& steps,
               std::vector<std::string>& pieces, bool first_segment);

// GPT-2's pattern as Hugging Face's ByteLevel pre-tokenizer uses it.
extern const char* const kGpt2Pattern;

// llama.cpp's regex list for a GGUF tokenizer.ggml.pre name (each regex splits with
// Isolated behaviour, in order), and whether that vocabulary ignores merges for pre-tokens
// already in the vocabulary (Llama 3). Throws tessera::Error naming `where` and the
// unknown name, listing the known ones.
struct PreSpec {
  std::vector<std::string> regexes;
  bool ignore_merges = false;
};
PreSpec llama_cpp_pre(const std::string& pre, const std::string& where);

}  // namespace tessera

// PCRE2 wrapper for pre-tokenizer patterns. Hugging Face compiles these patterns with
// Oniguruma and llama.cpp emulates them; PCRE2 in UTF + UCP mode gives the same Unicode
// classes (\p{L}, \p{N}, \s) and supports the lookahead the GPT-2 pattern needs. Patterns
// are JIT-compiled once; matching uses per-call match data so a Regex is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tessera {

class Regex {
 public:
  // literal: match the pattern text as a plain string. Throws tessera::Error naming
  // `where` when the pattern does not compile.
  Regex(const std::string& pattern, const std::string& where, bool literal = false);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Non-overlapping, non-empty matches from left to right as [begin, end) byte offsets.
  // s must be valid UTF-8.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view s) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string pattern_;
  std::string where_;
};

}  // namespace tessera

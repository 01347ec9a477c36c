// Hugging Face normalizers that tokenizer.json files for Llama-family models use: Prepend
// and Replace (SentencePiece-style "▁" handling) and NFC. NFC is not implemented (it needs
// the Unicode composition tables); instead text that NFC would leave unchanged passes and
// anything else is rejected with an error, so Tessera never silently tokenises differently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/regex.h"

namespace tessera {

struct NormalizeStep {
  enum class Kind { Prepend, Replace, Nfc } kind;
  std::string text;                    // Prepend: prefix; Replace: literal pattern
  std::string content;                 // Replace: replacement
  std::shared_ptr<const Regex> regex;  // Replace with a Regex pattern
};

// where: names the tokenizer in errors (NFC).
void normalize(const std::vector<NormalizeStep>& steps, std::string& s, const std::string& where);

// Replaces every non-overlapping occurrence of `from` (non-empty) with `to`.
std::string replace_all(const std::string& s, const std::string& from, const std::string& to);

}  // namespace tessera

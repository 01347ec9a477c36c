// Hugging Face decoders, applied as its decode_chain is: each step maps the list of token
// strings to a new list (Fuse joins them into one), and the result is concatenated. Bytes
// are kept raw (no lossy UTF-8 repair) so decoding stays byte-exact.
#pragma once

#include <string>
#include <vector>

namespace tessera {

struct DecodeStep {
  enum class Kind { ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace } kind;
  std::string a, b;    // Replace: pattern -> content; Strip/Metaspace: the character
  int start = 0, stop = 0;  // Strip counts
  bool prepend = false;     // Metaspace: the first token's leading space is removed
};

std::string run_decoders(const std::vector<DecodeStep>& steps, std::vector<std::string> tokens);

// "<0xAB>" -> 0xAB; -1 when s is not a byte token.
int parse_byte_token(const std::string& s);

}  // namespace tessera

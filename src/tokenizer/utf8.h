// UTF-8 helpers shared by every tokenizer. Input text is validated once, up front, so the
// later stages (regex splitting, per-codepoint symbol splitting) can assume well-formed
// UTF-8 and the user gets one error naming the exact byte offset of the bad sequence.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tessera::utf8 {

// Offset of the first invalid byte (overlong forms, surrogates and code points above
// U+10FFFF are invalid), or npos when s is well-formed.
size_t find_invalid(std::string_view s);
// Throws tessera::Error "<what>: invalid UTF-8 at byte offset N (byte 0xXX)".
void validate(std::string_view s, std::string_view what);
// Length of the (valid) sequence starting with lead byte b: 1..4.
inline size_t seq_len(unsigned char b) {
  return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}
// Decodes the code point at s[i] (s valid); advances i.
uint32_t next(std::string_view s, size_t& i);
void append(std::string& out, uint32_t cp);

}  // namespace tessera::utf8

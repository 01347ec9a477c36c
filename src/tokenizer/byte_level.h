// GPT-2's reversible byte <-> printable-character map. Byte-level BPE vocabularies store
// every token in this alphabet, so the mapping is applied to pre-tokens before BPE and
// undone when decoding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tessera::byte_level {

// The UTF-8 text of the character that stands for byte b.
const std::string& byte_char(unsigned char b);
// Maps every byte of s to its character.
std::string encode(std::string_view s);
// Inverse of encode; nullopt when s contains a character outside the map.
std::optional<std::string> decode(std::string_view s);

}  // namespace tessera::byte_level

// The table is built from the rule GPT-2 defines (printable Latin-1 bytes map to
// themselves, the rest to U+0100 upwards in byte order) rather than typed in, so it cannot
// contain a typo.
#include "tokenizer/byte_level.h"

#include <array>
#include <unordered_map>

#include "tokenizer/utf8.h"

namespace tessera::byte_level {
namespace {

struct Tables {
  std::array<std::string, 256> chars;
  std::unordered_map<uint32_t, unsigned char> inverse;
  Tables() {
    uint32_t extra = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      uint32_t cp = printable ? uint32_t(b) : 256 + extra++;
      utf8::append(chars[b], cp);
      inverse[cp] = static_cast<unsigned char>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::string& byte_char(unsigned char b) { return tables().chars[b]; }

std::string encode(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 2);
  for (char c : s) out += tables().chars[static_cast<unsigned char>(c)];
  return out;
}

std::optional<std::string> decode(std::string_view s) {
  if (utf8::find_invalid(s) != std::string_view::npos) return std::nullopt;
  std::string out;
  out.reserve(s.size());
  const auto& inv = tables().inverse;
  for (size_t i = 0; i < s.size();) {
    auto it = inv.find(utf8::next(s, i));
    if (it == inv.end()) return std::nullopt;
    out += char(it->second);
  }
  return out;
}

}  // namespace tessera::byte_level

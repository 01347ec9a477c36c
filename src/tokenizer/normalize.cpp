// The NFC check is deliberately conservative: any combining mark or any character from
// the blocks holding canonical singletons, composition exclusions or conjoining jamo is
// treated as "might change", which costs nothing for the common (already NFC) text.
#include "tokenizer/normalize.h"

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace tessera {

std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out += to;
  }
  out.append(s, pos);
  return out;
}

namespace {

bool may_change_under_nfc(uint32_t c) {
  struct R {
    uint32_t lo, hi;
  };
  static constexpr R ranges[] = {
      {0x0340, 0x0344}, {0x0374, 0x0374}, {0x037E, 0x037E}, {0x0387, 0x0387},
      {0x0958, 0x095F}, {0x09DC, 0x09DF}, {0x0A33, 0x0A36}, {0x0A59, 0x0A5E},
      {0x0B5C, 0x0B5D}, {0x0F43, 0x0FB9}, {0x1100, 0x11FF}, {0x1F00, 0x1FFF},
      {0x2000, 0x2001}, {0x2126, 0x212B}, {0x2329, 0x232A}, {0x2ADC, 0x2ADC},
      {0xF900, 0xFAFF}, {0xFB1D, 0xFB4E}, {0x1D15E, 0x1D1C0}, {0x2F800, 0x2FA1F}};
  for (auto r : ranges)
    if (c >= r.lo && c <= r.hi) return true;
  return false;
}

void check_nfc(const std::string& s, const std::string& where) {
  static const Regex mark(R"(\p{M})", "NFC check");
  size_t i = 0;
  while (i < s.size()) {
    size_t at = i;
    uint32_t c = utf8::next(s, i);
    if (c < 0x300) continue;
    bool bad = may_change_under_nfc(c) || !mark.find_all(std::string_view(s).substr(at, i - at)).empty();
    if (bad)
      fail("{}: normalizer NFC: the text has character U+{:04X} at byte offset {}, which "
           "Unicode normalisation might change; Tessera does not implement NFC, only "
           "already-normalised text is accepted",
           where, c, at);
  }
}

}  // namespace

void normalize(const std::vector<NormalizeStep>& steps, std::string& s, const std::string& where) {
  for (const auto& st : steps) {
    switch (st.kind) {
      case NormalizeStep::Kind::Prepend:
        if (!s.empty()) s.insert(0, st.text);
        break;
      case NormalizeStep::Kind::Replace:
        if (st.regex) {
          std::string out;
          size_t prev = 0;
          for (auto [b, e] : st.regex->find_all(s)) {
            out.append(s, prev, b - prev);
            out += st.content;
            prev = e;
          }
          out.append(s, prev);
          s = std::move(out);
        } else {
          s = replace_all(s, st.text, st.content);
        }
        break;
      case NormalizeStep::Kind::Nfc:
        check_nfc(s, where);
        break;
    }
  }
}

}  // namespace tessera

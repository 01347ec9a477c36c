// Steps work on whole token lists rather than streaming, because Strip and Metaspace act on
// positions (first token, ends) that only the full list defines; StreamDecoder builds on
// whole-sequence decode for the same reason.
#include "tokenizer/decoders.h"

#include "tokenizer/byte_level.h"
#include "tokenizer/normalize.h"

namespace tessera {

int parse_byte_token(const std::string& s) {
  if (s.size() != 6 || s.compare(0, 3, "<0x") != 0 || s[5] != '>') return -1;
  int v = 0;
  for (int i = 3; i < 5; ++i) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
            : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

std::string run_decoders(const std::vector<DecodeStep>& steps, std::vector<std::string> toks) {
  for (const auto& st : steps) {
    switch (st.kind) {
      case DecodeStep::Kind::ByteLevel:
        for (auto& t : toks)
          if (auto d = byte_level::decode(t)) t = std::move(*d);
        break;
      case DecodeStep::Kind::Replace:
        for (auto& t : toks) t = replace_all(t, st.a, st.b);
        break;
      case DecodeStep::Kind::ByteFallback:
        for (auto& t : toks)
          if (int b = parse_byte_token(t); b >= 0) t = std::string(1, char(b));
        break;
      case DecodeStep::Kind::Fuse: {
        std::string all;
        for (auto& t : toks) all += t;
        toks.assign(1, std::move(all));
        break;
      }
      case DecodeStep::Kind::Strip:
        for (auto& t : toks) {
          size_t b = 0, e = t.size();
          for (int k = 0; k < st.start && b < e && t.compare(b, st.a.size(), st.a) == 0; ++k)
            b += st.a.size();
          for (int k = 0; k < st.stop && e >= b + st.a.size() &&
                          t.compare(e - st.a.size(), st.a.size(), st.a) == 0;
               ++k)
            e -= st.a.size();
          t = t.substr(b, e - b);
        }
        break;
      case DecodeStep::Kind::Metaspace:
        for (size_t i = 0; i < toks.size(); ++i) {
          toks[i] = replace_all(toks[i], st.a, " ");
          if (i == 0 && st.prepend && !toks[i].empty() && toks[i][0] == ' ') toks[i].erase(0, 1);
        }
        break;
    }
  }
  std::string out;
  for (auto& t : toks) out += t;
  return out;
}

}  // namespace tessera

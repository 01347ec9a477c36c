// Tokenizers built from a VocabSpec (GGUF tokenizer.ggml.* metadata, or a generated
// vocabulary), following llama.cpp's behaviour since that is what GGUF files are made for:
//   Spm     - text with " " -> "▁" (and a leading "▁" when add_space_prefix) merged by
//             score; characters without a token fall back to <0xXX> byte tokens.
//   Gpt2Bpe - llama.cpp's regex list for tokenizer.ggml.pre, byte-level map, rank BPE.
// Control, user-defined and unknown tokens written in the text are matched as tokens first.
#include <fmt/format.h>

#include "core/error.h"
#include "tokenizer/bpe_merge.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/decoders.h"
#include "tokenizer/normalize.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/spm_score_bpe.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace tessera {

namespace {

constexpr int kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6;
const std::string kSpace = "\xE2\x96\x81";  // ▁

class VocabTokenizer : public Tokenizer {
 public:
  VocabTokenizer(const VocabSpec& v, const std::string& where);

  std::vector<int> encode(std::string_view text, bool add_special) const override;
  std::string decode(const std::vector<int>& ids, bool keep_special) const override;
  int vocab_size() const override { return int(tokens_.size()); }
  int bos_id() const override { return bos_; }
  std::vector<int> eos_ids() const override {
    return eos_ >= 0 ? std::vector<int>{eos_} : std::vector<int>{};
  }
  std::optional<int> token_id(std::string_view token) const override { return lookup(map_, token); }
  std::string token_text(int id) const override {
    check_id(id);
    return tokens_[id];
  }

 private:
  void check_id(int id) const {
    if (id < 0 || id >= vocab_size()) fail("{}: token id {} out of range [0, {})", where_, id, vocab_size());
  }
  void encode_spm(std::string text, std::vector<int>& out) const;
  bool hidden(int id) const {  // decodes to "" unless keep_special
    int t = types_[id];
    return t == kControl || t == kUnknown || t == kUnused;
  }

  std::string where_;
  VocabSpec::Kind kind_;
  std::vector<std::string> tokens_;
  std::vector<float> scores_;
  std::vector<int> types_;
  TokenMap map_;
  SpecialSplitter splitter_;
  int bos_, eos_, unk_;
  bool add_bos_, add_eos_, add_space_prefix_;
  int byte_ids_[256];
  // gpt2
  std::unique_ptr<BpeModel> bpe_;
  std::vector<std::unique_ptr<PreTokenizeStep>> pre_;
};

VocabTokenizer::VocabTokenizer(const VocabSpec& v, const std::string& where)
    : where_(where), kind_(v.kind), tokens_(v.tokens), bos_(v.bos_id), eos_(v.eos_id),
      unk_(v.unk_id), add_bos_(v.add_bos), add_eos_(v.add_eos), add_space_prefix_(v.add_space_prefix) {
  size_t n = tokens_.size();
  if (n == 0) fail("{}: the vocabulary has no tokens", where);
  if (n > size_t(1) << 30) fail("{}: the vocabulary has {} tokens, too many", where, n);
  if (!v.scores.empty() && v.scores.size() != n)
    fail("{}: the vocabulary has {} tokens but {} scores", where, n, v.scores.size());
  if (!v.token_types.empty() && v.token_types.size() != n)
    fail("{}: the vocabulary has {} tokens but {} token types", where, n, v.token_types.size());
  scores_ = v.scores.empty() ? std::vector<float>(n, 0.f) : v.scores;
  types_.assign(n, kNormal);
  for (size_t i = 0; i < v.token_types.size(); ++i) {
    int t = v.token_types[i];
    if (t < 1 || t > 6) fail("{}: token {} ('{}') has unknown token type {}", where, i, tokens_[i], t);
    types_[i] = t;
  }
  for (auto [name, id] : {std::pair<const char*, int>{"BOS", bos_}, {"EOS", eos_}, {"UNK", unk_}, {"PAD", v.pad_id}})
    if (id < -1 || id >= int64_t(n)) fail("{}: {} token id {} out of range [0, {})", where, name, id, n);
  if (add_bos_ && bos_ < 0) add_bos_ = false;
  if (add_eos_ && eos_ < 0) add_eos_ = false;
  map_.reserve(n);
  std::vector<AddedToken> specials;
  for (size_t i = 0; i < n; ++i) {
    const std::string& t = tokens_[i];
    if (utf8::find_invalid(t) != std::string::npos && types_[i] != kByte)
      utf8::validate(t, fmt::format("{}: token {}", where, i));
    map_[t] = int(i);  // the last of duplicate entries wins, as in llama.cpp
    int ty = types_[i];
    if ((ty == kControl || ty == kUserDefined || ty == kUnknown) && !t.empty())
      specials.push_back({t, int(i), ty != kUserDefined, false, false});
  }
  splitter_ = SpecialSplitter(std::move(specials));
  for (int b = 0; b < 256; ++b) {
    std::string text = v.kind == VocabSpec::Kind::Spm ? fmt::format("<0x{:02X}>", b) : byte_level::byte_char(b);
    auto id = lookup(map_, text);
    byte_ids_[b] = id ? *id : -1;
  }
  if (kind_ == VocabSpec::Kind::Gpt2Bpe) {
    PreSpec pre = llama_cpp_pre(v.pre, where);
    for (const auto& rx : pre.regexes)
      pre_.push_back(make_split(std::make_shared<Regex>(rx, where + ": pre-tokenizer"),
                                SplitBehavior::Isolated, false));
    pre_.push_back(make_byte_level(false, false, where));
    std::vector<std::pair<std::string, std::string>> merges;
    merges.reserve(v.merges.size());
    for (size_t i = 0; i < v.merges.size(); ++i) {
      const std::string& m = v.merges[i];
      size_t sp = m.find(' ', 1);
      if (sp == std::string::npos || sp + 1 >= m.size())
        fail("{}: merge {} ('{}') is not two tokens separated by a space", where, i, m);
      merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
    }
    BpeModel::Options opt;
    opt.ignore_merges = pre.ignore_merges;
    bpe_ = std::make_unique<BpeModel>(map_, merges, opt, where);
  }
}

void VocabTokenizer::encode_spm(std::string text, std::vector<int>& out) const {
  text = replace_all(text, " ", kSpace);
  std::vector<size_t> lens;
  lens.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t l = std::min(utf8::seq_len(static_cast<unsigned char>(text[i])), text.size() - i);
    lens.push_back(l);
    i += l;
  }
  size_t off = 0;
  for (size_t l : spm_score_merge(text, lens, map_, scores_)) {
    std::string_view piece = std::string_view(text).substr(off, l);
    off += l;
    if (auto id = lookup(map_, piece)) {
      out.push_back(*id);
      continue;
    }
    for (char c : piece) {  // only single characters stay unmerged without a token
      int b = byte_ids_[static_cast<unsigned char>(c)];
      if (b >= 0)
        out.push_back(b);
      else if (unk_ >= 0)
        out.push_back(unk_);
      else
        fail("{}: no token, byte token or unknown token for character '{}'", where_, piece);
    }
  }
}

std::vector<int> VocabTokenizer::encode(std::string_view text, bool add_special) const {
  utf8::validate(text, "input text");
  std::vector<int> out;
  if (add_special && add_bos_) out.push_back(bos_);
  bool prev_special = true;
  std::vector<std::string> pieces;
  for (const Segment& seg : splitter_.split(text)) {
    if (seg.token >= 0) {
      out.push_back(seg.token);
      prev_special = true;
      continue;
    }
    std::string s(text.substr(seg.begin, seg.end - seg.begin));
    if (kind_ == VocabSpec::Kind::Spm) {
      if (add_space_prefix_ && prev_special) s.insert(s.begin(), ' ');
      encode_spm(std::move(s), out);
    } else {
      pieces.assign(1, std::move(s));
      run_steps(pre_, pieces, seg.begin == 0);
      for (const auto& p : pieces) bpe_->encode_word(p, out);
    }
    prev_special = false;
  }
  if (add_special && add_eos_) out.push_back(eos_);
  return out;
}

std::string VocabTokenizer::decode(const std::vector<int>& ids, bool keep_special) const {
  std::string out;
  bool first = true;
  for (int id : ids) {
    check_id(id);
    const std::string& t = tokens_[id];
    int ty = types_[id];
    if (hidden(id) && !keep_special) continue;
    if (ty == kByte || (kind_ == VocabSpec::Kind::Spm && ty == kNormal && parse_byte_token(t) >= 0)) {
      int b = parse_byte_token(t);
      out += b >= 0 ? std::string(1, char(b)) : t;
    } else if (kind_ == VocabSpec::Kind::Spm) {
      std::string s = ty == kNormal || ty == kUserDefined ? replace_all(t, kSpace, " ") : t;
      if (first && ty == kNormal && add_space_prefix_ && !s.empty() && s[0] == ' ') s.erase(0, 1);
      out += s;
    } else {
      auto d = byte_level::decode(t);
      out += d ? *d : t;
    }
    first = false;
  }
  return out;
}

}  // namespace

std::unique_ptr<Tokenizer> tokenizer_from_vocab(const VocabSpec& vocab, const std::string& where) {
  return std::make_unique<VocabTokenizer>(vocab, where);
}

}  // namespace tessera

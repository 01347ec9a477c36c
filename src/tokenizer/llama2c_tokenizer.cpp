// llama2.c's tokenizer.bin: int32 max_token_length, then per token float32 score, int32
// length, bytes (pieces store spaces as " ", byte tokens as "<0xXX>" at id byte + 3).
// Encoding reproduces run.c's encode(): dummy " " prefix, per-codepoint lookup with byte
// fallback, then highest-score merging; the merging itself is the shared score-BPE code.
// Decoding follows run.c's decode(): a piece after BOS loses its leading space. We also
// drop it from the very first piece, because encode added that space (the dummy prefix),
// so that decode(encode(s)) == s with or without BOS.
#include "tokenizer/llama2c_tokenizer.h"

#include <fmt/format.h>

#include <cstring>

#include "core/error.h"
#include "core/mapped_file.h"
#include "tokenizer/bpe_merge.h"
#include "tokenizer/decoders.h"
#include "tokenizer/spm_score_bpe.h"
#include "tokenizer/utf8.h"

namespace tessera {

namespace {

constexpr int kBos = 1, kEos = 2;  // <unk> is 0

class Llama2cTokenizer : public Tokenizer {
 public:
  Llama2cTokenizer(std::string_view data, int vocab_size, const std::string& where);

  std::vector<int> encode(std::string_view text, bool add_special) const override;
  std::string decode(const std::vector<int>& ids, bool keep_special) const override;
  int vocab_size() const override { return int(tokens_.size()); }
  int bos_id() const override { return vocab_size() > kBos ? kBos : -1; }
  std::vector<int> eos_ids() const override {
    return vocab_size() > kEos ? std::vector<int>{kEos} : std::vector<int>{};
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
  std::string where_;
  std::vector<std::string> tokens_;
  std::vector<float> scores_;
  TokenMap map_;
};

Llama2cTokenizer::Llama2cTokenizer(std::string_view data, int vocab_size, const std::string& where)
    : where_(where) {
  if (vocab_size < 0) fail("{}: negative vocabulary size {}", where, vocab_size);
  size_t pos = 0;
  auto read_i32 = [&](const char* what, size_t index) {
    if (data.size() - pos < 4)
      fail("{}: token {}: {} at byte offset {} runs past the end of the file ({} bytes)", where,
           index, what, pos, data.size());
    int32_t v;
    std::memcpy(&v, data.data() + pos, 4);
    pos += 4;
    return v;
  };
  if (data.size() < 4)
    fail("{}: too short for a llama2.c tokenizer ({} bytes; the header alone is 4)", where, data.size());
  int32_t max_len;
  std::memcpy(&max_len, data.data(), 4);
  pos = 4;
  if (max_len < 0) fail("{}: negative max_token_length {}", where, max_len);
  size_t reserve = std::min<size_t>(vocab_size ? size_t(vocab_size) : 0, data.size() / 8);
  tokens_.reserve(reserve);
  scores_.reserve(reserve);
  for (size_t i = 0; vocab_size ? i < size_t(vocab_size) : pos < data.size(); ++i) {
    if (vocab_size && pos >= data.size())
      fail("{}: the file ends after {} tokens but the model's vocabulary has {}", where, i, vocab_size);
    int32_t score_bits = read_i32("score", i);
    float score;
    std::memcpy(&score, &score_bits, 4);
    int32_t len = read_i32("length", i);
    if (len < 0) fail("{}: token {}: negative length {} at byte offset {}", where, i, len, pos - 4);
    if (data.size() - pos < size_t(len))
      fail("{}: token {}: {} bytes at byte offset {} run past the end of the file ({} bytes)",
           where, i, len, pos, data.size());
    tokens_.emplace_back(data.substr(pos, size_t(len)));
    scores_.push_back(score);
    pos += size_t(len);
  }
  if (tokens_.empty()) fail("{}: the tokenizer has no tokens", where);
  map_.reserve(tokens_.size());
  for (size_t i = 0; i < tokens_.size(); ++i) map_.try_emplace(tokens_[i], int(i));
}

std::vector<int> Llama2cTokenizer::encode(std::string_view text, bool add_special) const {
  utf8::validate(text, "input text");
  std::vector<int> out;
  if (add_special && bos_id() >= 0) out.push_back(kBos);
  if (text.empty()) return out;
  std::string full = " ";
  full += text;
  std::vector<int> init;
  std::string buf;
  std::vector<size_t> lens;
  for (size_t i = 0; i < full.size();) {
    size_t l = std::min(utf8::seq_len(static_cast<unsigned char>(full[i])), full.size() - i);
    std::string_view cp = std::string_view(full).substr(i, l);
    i += l;
    if (auto id = lookup(map_, cp)) {
      init.push_back(*id);
    } else {
      for (char c : cp) {
        int id = static_cast<unsigned char>(c) + 3;
        if (id >= vocab_size())
          fail("{}: no byte-fallback token for byte 0x{:02X} (id {} >= vocabulary size {})", where_,
               static_cast<unsigned char>(c), id, vocab_size());
        if (tokens_[id].empty())
          fail("{}: byte-fallback token {} for byte 0x{:02X} is empty", where_, id,
               static_cast<unsigned char>(c));
        init.push_back(id);
      }
    }
  }
  for (int id : init) {
    buf += tokens_[id];
    lens.push_back(tokens_[id].size());
  }
  size_t off = 0, k = 0;  // k: index of the initial symbol at `off`
  for (size_t l : spm_score_merge(buf, lens, map_, scores_)) {
    if (l == lens[k]) {
      out.push_back(init[k]);  // unmerged: keep the id run.c chose
    } else {
      auto id = lookup(map_, std::string_view(buf).substr(off, l));
      TS_CHECK(id.has_value(), "merged symbol is not in the vocabulary");
      out.push_back(*id);
    }
    off += l;
    size_t consumed = 0;
    do {
      TS_CHECK(k < lens.size(), "merged symbols overrun the input");
      consumed += lens[k++];
    } while (consumed < l);
  }
  return out;
}

std::string Llama2cTokenizer::decode(const std::vector<int>& ids, bool keep_special) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    int id = ids[i];
    check_id(id);
    if (id <= kEos && !keep_special) continue;
    std::string_view piece = tokens_[id];
    if ((i == 0 || ids[i - 1] == kBos) && !piece.empty() && piece[0] == ' ') piece.remove_prefix(1);
    int b = parse_byte_token(std::string(piece));
    if (b >= 0)
      out += char(b);
    else
      out += piece;
  }
  return out;
}

}  // namespace

std::unique_ptr<Tokenizer> llama2c_tokenizer_from_bytes(std::string_view data, int vocab_size,
                                                        const std::string& where) {
  return std::make_unique<Llama2cTokenizer>(data, vocab_size, where);
}

std::unique_ptr<Tokenizer> load_llama2c_tokenizer(const std::string& path, int vocab_size) {
  auto f = MappedFile::open(path);
  return llama2c_tokenizer_from_bytes(f->bytes(), vocab_size, path);
}

}  // namespace tessera

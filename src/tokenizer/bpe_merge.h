// Rank-based BPE (Hugging Face "BPE" model, llama.cpp "gpt2" vocabularies): a pre-token is
// split into characters and the adjacent pair with the lowest merge rank is merged until
// none applies. A priority queue over a linked list of symbols makes a word of n
// characters cost O(n log n), so SentencePiece-style files (one pre-token per text
// segment, possibly megabytes) stay fast.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tessera {

// Hash that lets unordered_map<std::string, ...> be queried with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int, StringHash, std::equal_to<>>;

inline std::optional<int> lookup(const TokenMap& m, std::string_view s) {
  auto it = m.find(s);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

class BpeModel {
 public:
  struct Options {
    bool byte_fallback = false;  // unknown character -> <0xXX> tokens
    int unk_id = -1;             // unknown character -> unk (when no byte fallback)
    bool fuse_unk = false;       // consecutive unknowns become one unk
    bool ignore_merges = false;  // a pre-token that is itself a token is kept whole
  };
  // vocab: token text -> id. merges: (left, right) in rank order; `where` names the file
  // in errors (a merge whose parts or result are not in the vocabulary).
  BpeModel(TokenMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
           Options opt, const std::string& where);

  // Appends the ids of one pre-token.
  void encode_word(std::string_view word, std::vector<int>& out) const;
  const TokenMap& vocab() const { return vocab_; }

 private:
  void merge(std::vector<int>& syms) const;
  void encode_uncached(std::string_view word, std::vector<int>& out) const;

  TokenMap vocab_;
  std::unordered_map<uint64_t, std::pair<int, int>> merges_;  // (a,b) -> (rank, merged id)
  Options opt_;
  int byte_ids_[256];
  bool have_byte_ids_ = false;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int>> cache_;
};

}  // namespace tessera

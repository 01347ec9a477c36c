// Ties between equal ranks go to the leftmost pair, as in Hugging Face's implementation;
// queue entries carry the ids they were made for, so entries made stale by an earlier
// merge are recognised and dropped when popped instead of being searched for and removed.
#include "tokenizer/bpe_merge.h"

#include <fmt/format.h>

#include <queue>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace tessera {

namespace {
uint64_t pair_key(int a, int b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
constexpr size_t kMaxCachedWord = 64;
constexpr size_t kMaxCacheEntries = 1 << 16;
}  // namespace

BpeModel::BpeModel(TokenMap vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges, Options opt,
                   const std::string& where)
    : vocab_(std::move(vocab)), opt_(opt) {
  merges_.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    const auto& [a, b] = merges[r];
    auto ia = lookup(vocab_, a), ib = lookup(vocab_, b), im = lookup(vocab_, a + b);
    if (!ia || !ib || !im)
      fail("{}: merge {} ('{} {}'): {} is not in the vocabulary", where, r, a, b,
           !ia ? fmt::format("'{}'", a) : !ib ? fmt::format("'{}'", b) : fmt::format("'{}{}'", a, b));
    merges_.try_emplace(pair_key(*ia, *ib), int(r), *im);  // first (lowest) rank wins
  }
  have_byte_ids_ = true;
  for (int b = 0; b < 256; ++b) {
    auto id = lookup(vocab_, fmt::format("<0x{:02X}>", b));
    byte_ids_[b] = id ? *id : -1;
    if (!id) have_byte_ids_ = false;
  }
}

void BpeModel::merge(std::vector<int>& syms) const {
  size_t n = syms.size();
  if (n < 2 || merges_.empty()) return;
  std::vector<int> prev(n), next(n);
  for (size_t i = 0; i < n; ++i) {
    prev[i] = int(i) - 1;
    next[i] = i + 1 < n ? int(i + 1) : -1;
  }
  struct Entry {
    int rank, pos, left, right, merged;
    bool operator<(const Entry& o) const {  // std::priority_queue pops the largest
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Entry> q;
  auto consider = [&](int pos) {
    if (pos < 0 || next[pos] < 0) return;
    auto it = merges_.find(pair_key(syms[pos], syms[next[pos]]));
    if (it != merges_.end())
      q.push({it->second.first, pos, syms[pos], syms[next[pos]], it->second.second});
  };
  for (size_t i = 0; i + 1 < n; ++i) consider(int(i));
  std::vector<bool> dead(n, false);
  while (!q.empty()) {
    Entry e = q.top();
    q.pop();
    if (dead[e.pos] || syms[e.pos] != e.left) continue;
    int r = next[e.pos];
    if (r < 0 || syms[r] != e.right) continue;
    syms[e.pos] = e.merged;
    dead[r] = true;
    next[e.pos] = next[r];
    if (next[r] >= 0) prev[next[r]] = e.pos;
    consider(prev[e.pos]);
    consider(e.pos);
  }
  size_t w = 0;
  for (int i = 0; i >= 0; i = next[i]) syms[w++] = syms[i];
  syms.resize(w);
}

void BpeModel::encode_uncached(std::string_view word, std::vector<int>& out) const {
  if (opt_.ignore_merges)
    if (auto id = lookup(vocab_, word)) {
      out.push_back(*id);
      return;
    }
  std::vector<int> syms;
  syms.reserve(word.size());
  bool prev_unk = false;
  for (size_t i = 0; i < word.size();) {
    size_t start = i;
    i += utf8::seq_len(static_cast<unsigned char>(word[i]));
    if (i > word.size()) i = word.size();
    std::string_view ch = word.substr(start, i - start);
    if (auto id = lookup(vocab_, ch)) {
      syms.push_back(*id);
      prev_unk = false;
    } else if (opt_.byte_fallback && have_byte_ids_) {
      for (char c : ch) syms.push_back(byte_ids_[static_cast<unsigned char>(c)]);
      prev_unk = false;
    } else if (opt_.unk_id >= 0) {
      if (!(opt_.fuse_unk && prev_unk)) syms.push_back(opt_.unk_id);
      prev_unk = true;
    }  // no unk token: the character is dropped, as Hugging Face does
  }
  merge(syms);
  out.insert(out.end(), syms.begin(), syms.end());
}

void BpeModel::encode_word(std::string_view word, std::vector<int>& out) const {
  if (word.size() > kMaxCachedWord) return encode_uncached(word, out);
  std::string key(word);
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int> ids;
  encode_uncached(word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_.emplace(std::move(key), std::move(ids));
}

}  // namespace tessera

// Symbols are byte ranges of one buffer, so merging two neighbours is just widening the
// left range; queue entries remember the lengths they were computed for and are dropped
// when a neighbour has changed since (the same staleness test llama.cpp uses).
#include "tokenizer/spm_score_bpe.h"

#include <queue>

namespace tessera {

std::vector<size_t> spm_score_merge(std::string_view buf, const std::vector<size_t>& lens,
                                    const TokenMap& vocab, const std::vector<float>& scores) {
  size_t n = lens.size();
  std::vector<size_t> start(n), len(lens);
  std::vector<int> prev(n), next(n);
  size_t off = 0;
  for (size_t i = 0; i < n; ++i) {
    start[i] = off;
    off += lens[i];
    prev[i] = int(i) - 1;
    next[i] = i + 1 < n ? int(i + 1) : -1;
  }
  struct Entry {
    float score;
    int left;
    size_t size;
    bool operator<(const Entry& o) const {
      return score != o.score ? score < o.score : left > o.left;
    }
  };
  std::priority_queue<Entry> q;
  auto consider = [&](int l) {
    if (l < 0 || next[l] < 0) return;
    int r = next[l];
    size_t size = len[l] + len[r];
    auto id = lookup(vocab, buf.substr(start[l], size));
    if (!id || *id < 0 || size_t(*id) >= scores.size()) return;
    q.push({scores[*id], l, size});
  };
  for (size_t i = 0; i + 1 < n; ++i) consider(int(i));
  while (!q.empty()) {
    Entry e = q.top();
    q.pop();
    int l = e.left;
    if (len[l] == 0) continue;
    int r = next[l];
    if (r < 0 || len[l] + len[r] != e.size) continue;
    len[l] += len[r];
    len[r] = 0;
    next[l] = next[r];
    if (next[r] >= 0) prev[next[r]] = l;
    consider(prev[l]);
    consider(l);
  }
  std::vector<size_t> out;
  for (int i = n ? 0 : -1; i >= 0; i = next[i]) out.push_back(len[i]);
  return out;
}

}  // namespace tessera

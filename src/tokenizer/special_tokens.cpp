// Candidates are bucketed by first byte so scanning costs one hash probe per input byte
// that can start a token; vocabularies with hundreds of "<|reserved_N|>" tokens share one
// bucket but the comparison stops at the first differing byte.
#include "tokenizer/special_tokens.h"

#include <algorithm>

namespace tessera {

namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
}  // namespace

SpecialSplitter::SpecialSplitter(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  for (size_t i = 0; i < tokens_.size(); ++i)
    if (!tokens_[i].content.empty())
      by_first_[static_cast<unsigned char>(tokens_[i].content[0])].push_back(i);
  for (auto& [c, v] : by_first_)
    std::stable_sort(v.begin(), v.end(), [&](size_t a, size_t b) {
      return tokens_[a].content.size() > tokens_[b].content.size();
    });
}

std::vector<Segment> SpecialSplitter::split(std::string_view text) const {
  std::vector<Segment> out;
  size_t text_start = 0, i = 0;
  while (i < text.size()) {
    auto it = by_first_.find(static_cast<unsigned char>(text[i]));
    const AddedToken* hit = nullptr;
    if (it != by_first_.end())
      for (size_t idx : it->second)
        if (text.substr(i, tokens_[idx].content.size()) == tokens_[idx].content) {
          hit = &tokens_[idx];
          break;
        }
    if (!hit) {
      ++i;
      continue;
    }
    size_t b = i, e = i + hit->content.size();
    if (hit->lstrip)
      while (b > text_start && is_space(text[b - 1])) --b;
    if (hit->rstrip)
      while (e < text.size() && is_space(text[e])) ++e;
    if (b > text_start) out.push_back({text_start, b, -1});
    out.push_back({b, e, hit->id});
    text_start = i = e;
  }
  if (text_start < text.size()) out.push_back({text_start, text.size(), -1});
  return out;
}

}  // namespace tessera

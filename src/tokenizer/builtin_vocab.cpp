// Vocabularies for generated models. BPE is trained greedily on a paragraph embedded here,
// so the result depends on nothing but this file: same vocab_size and kind, same tokens.
// Training runs over unique words with counts (a few hundred), so even the largest sizes
// are built in milliseconds; whatever the paragraph cannot fill is reserved special tokens.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"

namespace tessera {

namespace {

const char* const kParagraph =
    "Once upon a time, in a small town beside a quiet river, there lived a girl who loved to "
    "read. Every morning she walked to the library and took home a new book. She read about "
    "the stars and the sea, about kings and farmers, about machines that could think and "
    "birds that could talk. One day the old librarian gave her a map and said: follow it, and "
    "you will find the best story of all. The girl followed the map through the market, over "
    "the bridge, and into the forest, where the trees were tall and the light was green. At "
    "the end of the path she found a little house full of paper, pens and ink. There was no "
    "book waiting for her there. Instead there was an empty table and a chair. She sat down, "
    "picked up a pen, and began to write her own story. She wrote for many days and many "
    "nights, and when she finished, she carried the pages back to the town, where everyone "
    "wanted to read what she had written. The numbers 0 1 2 3 4 5 6 7 8 9 and 10, 100, 2024 "
    "appear here too, as do questions? Answers! And lists: one; two; three.";

const std::string kSpace = "\xE2\x96\x81";

// Greedy BPE: words are symbol lists with counts; each step merges the most frequent
// adjacent pair (ties: lexicographically smallest) everywhere.
std::vector<std::pair<std::string, std::string>> train_bpe(
    std::vector<std::pair<std::vector<std::string>, int>> words, size_t max_merges) {
  std::vector<std::pair<std::string, std::string>> merges;
  while (merges.size() < max_merges) {
    std::map<std::pair<std::string, std::string>, int> counts;
    for (const auto& [syms, n] : words)
      for (size_t i = 0; i + 1 < syms.size(); ++i) counts[{syms[i], syms[i + 1]}] += n;
    const std::pair<std::string, std::string>* best = nullptr;
    int best_n = 1;
    for (const auto& [p, n] : counts)
      if (n > best_n) {
        best = &p;
        best_n = n;
      }
    if (!best) break;
    auto m = *best;
    merges.push_back(m);
    for (auto& [syms, n] : words) {
      std::vector<std::string> out;
      for (size_t i = 0; i < syms.size(); ++i) {
        if (i + 1 < syms.size() && syms[i] == m.first && syms[i + 1] == m.second) {
          out.push_back(m.first + m.second);
          ++i;
        } else {
          out.push_back(syms[i]);
        }
      }
      syms = std::move(out);
    }
  }
  return merges;
}

std::vector<std::string> chars_of(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char b = s[i];
    size_t l = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    out.push_back(s.substr(i, l));
    i += l;
  }
  return out;
}

void pad_reserved(VocabSpec& v, int vocab_size) {
  for (int i = 0; int(v.tokens.size()) < vocab_size; ++i) {
    v.tokens.push_back(fmt::format("<|reserved_{}|>", i));
    v.token_types.push_back(3);
    if (v.kind == VocabSpec::Kind::Spm) v.scores.push_back(0.f);
  }
}

}  // namespace

VocabSpec make_builtin_vocab(int vocab_size, VocabSpec::Kind kind) {
  constexpr int kMin = 300;
  if (vocab_size < kMin)
    fail("built-in vocabulary: vocab_size {} is too small (at least {} needed for the 256 "
         "byte tokens, BOS/EOS and some merges)", vocab_size, kMin);
  VocabSpec v;
  v.kind = kind;
  std::map<std::string, int> word_counts;
  if (kind == VocabSpec::Kind::Gpt2Bpe) {
    v.pre = "gpt2";
    Regex re(llama_cpp_pre("gpt2", "built-in vocabulary").regexes[0], "built-in vocabulary");
    std::string_view text(kParagraph);
    for (auto [b, e] : re.find_all(text)) ++word_counts[byte_level::encode(text.substr(b, e - b))];
    for (int b = 0; b < 256; ++b) {
      v.tokens.push_back(byte_level::byte_char(static_cast<unsigned char>(b)));
      v.token_types.push_back(1);
    }
    std::vector<std::pair<std::vector<std::string>, int>> words;
    for (const auto& [w, n] : word_counts) words.push_back({chars_of(w), n});
    auto merges = train_bpe(words, size_t(vocab_size - 256 - 2));
    for (const auto& [a, b] : merges) {
      v.merges.push_back(a + " " + b);
      if (std::find(v.tokens.begin() + 256, v.tokens.end(), a + b) == v.tokens.end()) {
        v.tokens.push_back(a + b);
        v.token_types.push_back(1);
      }
    }
    v.bos_id = int(v.tokens.size());
    v.tokens.push_back("<|begin_of_text|>");
    v.eos_id = int(v.tokens.size());
    v.tokens.push_back("<|end_of_text|>");
    v.token_types.insert(v.token_types.end(), {3, 3});
    v.add_bos = true;
    v.add_space_prefix = false;
  } else {
    v.tokens = {"<unk>", "<s>", "</s>"};
    v.token_types = {2, 3, 3};
    v.scores = {0.f, 0.f, 0.f};
    v.unk_id = 0;
    v.bos_id = 1;
    v.eos_id = 2;
    for (int b = 0; b < 256; ++b) {
      v.tokens.push_back(fmt::format("<0x{:02X}>", b));
      v.token_types.push_back(6);
      v.scores.push_back(0.f);
    }
    std::string text = kParagraph;
    size_t start = 0;
    while (start < text.size()) {  // SentencePiece words: "▁" + the word
      size_t end = text.find(' ', start);
      if (end == std::string::npos) end = text.size();
      if (end > start) ++word_counts[kSpace + text.substr(start, end - start)];
      start = end + 1;
    }
    // The alphabet: the most frequent characters, at most half the free room, so small
    // vocabularies still get merges; words using other characters stay byte-fallback only.
    std::map<std::string, int> char_counts;
    for (const auto& [w, n] : word_counts)
      for (const auto& c : chars_of(w)) char_counts[c] += n;
    std::vector<std::pair<std::string, int>> by_freq(char_counts.begin(), char_counts.end());
    std::stable_sort(by_freq.begin(), by_freq.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    size_t free_room = size_t(vocab_size) - v.tokens.size();
    by_freq.resize(std::min(by_freq.size(), free_room / 2));
    std::vector<std::string> alphabet;
    for (const auto& [c, n] : by_freq) alphabet.push_back(c);
    std::sort(alphabet.begin(), alphabet.end());
    std::vector<std::pair<std::vector<std::string>, int>> words;
    for (const auto& [w, n] : word_counts) {
      auto cs = chars_of(w);
      bool ok = std::all_of(cs.begin(), cs.end(), [&](const std::string& c) {
        return std::binary_search(alphabet.begin(), alphabet.end(), c);
      });
      if (ok) words.push_back({cs, n});
    }
    int room = vocab_size - int(v.tokens.size()) - int(alphabet.size());
    auto merges = train_bpe(words, size_t(std::max(room, 0)));
    float score = 0.f;
    for (const auto& [a, b] : merges) {
      if (std::find(v.tokens.begin() + 259, v.tokens.end(), a + b) != v.tokens.end()) continue;
      v.tokens.push_back(a + b);
      v.token_types.push_back(1);
      v.scores.push_back(score -= 1.f);
    }
    for (const auto& c : alphabet) {  // single characters last, lowest scores (as SentencePiece)
      v.tokens.push_back(c);
      v.token_types.push_back(1);
      v.scores.push_back(score -= 1.f);
    }
    v.add_bos = true;
    v.add_space_prefix = true;
  }
  TS_CHECK(int(v.tokens.size()) <= vocab_size, "built-in vocabulary overflow: {} > {}", v.tokens.size(), vocab_size);
  pad_reserved(v, vocab_size);
  return v;
}

}  // namespace tessera

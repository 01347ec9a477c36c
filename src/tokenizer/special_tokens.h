// Finding added/special tokens (e.g. "<|im_start|>", "<s>") written in the input before
// any normalisation or pre-tokenisation, as Hugging Face's AddedVocabulary and llama.cpp's
// special-token partition do: leftmost match, longest token on ties.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tessera {

struct AddedToken {
  std::string content;
  int id = -1;
  bool special = false;  // decodes to "" unless keep_special
  bool lstrip = false;   // also swallows the whitespace before it
  bool rstrip = false;   // ... and after it
};

struct Segment {
  size_t begin = 0, end = 0;  // byte range of the text (for text segments)
  int token = -1;             // >= 0: an added token
};

class SpecialSplitter {
 public:
  SpecialSplitter() = default;
  explicit SpecialSplitter(std::vector<AddedToken> tokens);
  std::vector<Segment> split(std::string_view text) const;
  bool empty() const { return tokens_.empty(); }

 private:
  std::vector<AddedToken> tokens_;
  // first byte -> indices into tokens_, longest first
  std::unordered_map<unsigned char, std::vector<size_t>> by_first_;
};

}  // namespace tessera

// The Split behaviours follow the Hugging Face definitions over the alternating list of
// (non-match, match) spans a pattern produces; Digits and ByteLevel are expressed through
// the same Split machinery so there is a single splitting code path to get right.
#include "tokenizer/pretokenize.h"

#include <utility>

#include "core/error.h"
#include "tokenizer/byte_level.h"

namespace tessera {

const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

const char* const kLlamaCppGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
const char* const kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

class SplitStep : public PreTokenizeStep {
 public:
  SplitStep(std::shared_ptr<const Regex> re, SplitBehavior b, bool invert)
      : re_(std::move(re)), behavior_(b), invert_(invert) {}

  void apply(std::vector<std::string>& pieces, bool) const override {
    std::vector<std::string> out;
    out.reserve(pieces.size());
    for (const auto& p : pieces) split_one(p, out);
    pieces = std::move(out);
  }

 private:
  struct Span {
    size_t b, e;
    bool match;
  };

  void split_one(const std::string& s, std::vector<std::string>& out) const {
    std::vector<Span> spans;
    size_t prev = 0;
    for (auto [b, e] : re_->find_all(s)) {
      if (b > prev) spans.push_back({prev, b, invert_});
      spans.push_back({b, e, !invert_});
      prev = e;
    }
    if (prev < s.size()) spans.push_back({prev, s.size(), invert_});

    // (span, removed) after applying the behaviour.
    std::vector<std::pair<Span, bool>> res;
    switch (behavior_) {
      case SplitBehavior::Removed:
        for (auto& sp : spans) res.push_back({sp, sp.match});
        break;
      case SplitBehavior::Isolated:
        for (auto& sp : spans) res.push_back({sp, false});
        break;
      case SplitBehavior::Contiguous: {
        bool prev_match = false;
        for (auto& sp : spans) {
          if (!res.empty() && sp.match == prev_match)
            res.back().first.e = sp.e;
          else
            res.push_back({sp, false});
          prev_match = sp.match;
        }
        break;
      }
      case SplitBehavior::MergedWithPrevious: {
        bool prev_match = false;
        for (auto& sp : spans) {
          if (sp.match && !prev_match && !res.empty())
            res.back().first.e = sp.e;
          else
            res.push_back({sp, false});
          prev_match = sp.match;
        }
        break;
      }
      case SplitBehavior::MergedWithNext: {
        bool prev_match = false;
        std::vector<std::pair<Span, bool>> rev;
        for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
          if (it->match && !prev_match && !rev.empty())
            rev.back().first.b = it->b;
          else
            rev.push_back({*it, false});
          prev_match = it->match;
        }
        res.assign(rev.rbegin(), rev.rend());
        break;
      }
    }
    for (auto& [sp, removed] : res)
      if (!removed && sp.e > sp.b) out.emplace_back(s.substr(sp.b, sp.e - sp.b));
  }

  std::shared_ptr<const Regex> re_;
  SplitBehavior behavior_;
  bool invert_;
};

class ByteLevelStep : public PreTokenizeStep {
 public:
  ByteLevelStep(bool prefix, bool use_regex, const std::string& where) : prefix_(prefix) {
    if (use_regex)
      split_ = std::make_unique<SplitStep>(std::make_shared<Regex>(kGpt2Pattern, where),
                                           SplitBehavior::Isolated, false);
  }
  void apply(std::vector<std::string>& pieces, bool first) const override {
    if (prefix_)
      for (auto& p : pieces)
        if (p.empty() || p[0] != ' ') p.insert(p.begin(), ' ');
    if (split_) split_->apply(pieces, first);
    for (auto& p : pieces) p = byte_level::encode(p);
  }

 private:
  bool prefix_;
  std::unique_ptr<SplitStep> split_;
};

class MetaspaceStep : public PreTokenizeStep {
 public:
  MetaspaceStep(std::string replacement, PrependScheme scheme, bool split,
                const std::string& where)
      : rep_(std::move(replacement)), scheme_(scheme) {
    if (split)
      split_ = std::make_unique<SplitStep>(std::make_shared<Regex>(rep_, where, true),
                                           SplitBehavior::MergedWithNext, false);
  }
  void apply(std::vector<std::string>& pieces, bool first) const override {
    for (size_t i = 0; i < pieces.size(); ++i) {
      auto& p = pieces[i];
      std::string r;
      r.reserve(p.size() + rep_.size());
      for (char c : p) {
        if (c == ' ')
          r += rep_;
        else
          r += c;
      }
      bool prepend = scheme_ == PrependScheme::Always ||
                     (scheme_ == PrependScheme::First && first && i == 0);
      if (prepend && r.compare(0, rep_.size(), rep_) != 0) r.insert(0, rep_);
      p = std::move(r);
    }
    if (split_) split_->apply(pieces, first);
  }

 private:
  std::string rep_;
  PrependScheme scheme_;
  std::unique_ptr<SplitStep> split_;
};

}  // namespace

std::unique_ptr<PreTokenizeStep> make_split(std::shared_ptr<const Regex> re, SplitBehavior b,
                                            bool invert) {
  return std::make_unique<SplitStep>(std::move(re), b, invert);
}

std::unique_ptr<PreTokenizeStep> make_digits(bool individual, const std::string& where) {
  return make_split(std::make_shared<Regex>(individual ? R"(\p{N})" : R"(\p{N}+)", where),
                    SplitBehavior::Isolated, false);
}

std::unique_ptr<PreTokenizeStep> make_byte_level(bool add_prefix_space, bool use_regex,
                                                 const std::string& where) {
  return std::make_unique<ByteLevelStep>(add_prefix_space, use_regex, where);
}

std::unique_ptr<PreTokenizeStep> make_metaspace(std::string replacement, PrependScheme scheme,
                                                bool split, const std::string& where) {
  return std::make_unique<MetaspaceStep>(std::move(replacement), scheme, split, where);
}

void run_steps(const std::vector<std::unique_ptr<PreTokenizeStep>>& steps,
               std::vector<std::string>& pieces, bool first_segment) {
  for (const auto& s : steps) s->apply(pieces, first_segment);
}

PreSpec llama_cpp_pre(const std::string& pre, const std::string& where) {
  if (pre.empty() || pre == "default")
    return {{R"([\p{P}\$\+<=>\^~\|]+)", kLlamaCppGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}, false};
  if (pre == "gpt2" || pre == "gpt-2" || pre == "mpt" || pre == "olmo" || pre == "jais")
    return {{kLlamaCppGpt2}, false};
  if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3" || pre == "smaug-bpe" ||
      pre == "falcon3" || pre == "pixtral")
    return {{kLlama3}, pre != "smaug-bpe"};
  if (pre == "qwen2" || pre == "deepseek-r1-qwen")
    return {{kQwen2}, false};
  if (pre == "smollm" || pre == "starcoder" || pre == "refact" || pre == "command-r" ||
      pre == "codeshell" || pre == "exaone" || pre == "minerva-7b")
    return {{R"(\p{N})", kLlamaCppGpt2}, false};
  fail("{}: unsupported pre-tokenizer '{}' (tokenizer.ggml.pre); supported: default, gpt2, "
       "llama-bpe, llama3, smaug-bpe, qwen2, smollm, starcoder, refact, command-r",
       where, pre);
}

}  // namespace tessera

// Writers that give generated/converted models a tokenizer in their own format. The
// tokenizer.json mirrors what Hugging Face's converters emit for the two families (byte-
// level BPE; SentencePiece BPE with byte fallback), so both our loader and the `tokenizers`
// library read it and encode the same. SentencePiece vocabularies carry scores, not merges;
// merges are derived from the scores the way Hugging Face's SentencePiece extractor does.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <numeric>

#include "core/error.h"
#include "tokenizer/bpe_merge.h"
#include "tokenizer/normalize.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"

namespace tessera {

using json = nlohmann::ordered_json;

namespace {

const std::string kSpace = "\xE2\x96\x81";

int type_of(const VocabSpec& v, size_t i) { return i < v.token_types.size() ? v.token_types[i] : 1; }

// Merges for a score-ordered SentencePiece vocabulary: every split of a normal piece into
// two pieces, ranked by the piece's score (then by the ids of the halves).
std::vector<std::pair<std::string, std::string>> spm_merges(const VocabSpec& v, const TokenMap& ids) {
  struct M {
    float score;
    int id, l, r;
  };
  std::vector<M> ms;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (type_of(v, i) != 1) continue;
    const std::string& t = v.tokens[i];
    for (size_t k = 1; k < t.size(); ++k) {
      if ((static_cast<unsigned char>(t[k]) & 0xC0) == 0x80) continue;
      auto l = lookup(ids, std::string_view(t).substr(0, k));
      auto r = lookup(ids, std::string_view(t).substr(k));
      if (l && r && type_of(v, *l) == 1 && type_of(v, *r) == 1)
        ms.push_back({i < v.scores.size() ? v.scores[i] : 0.f, int(i), *l, *r});
    }
  }
  std::stable_sort(ms.begin(), ms.end(), [](const M& a, const M& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.id != b.id) return a.id < b.id;
    return std::pair(a.l, a.r) < std::pair(b.l, b.r);
  });
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& m : ms) out.emplace_back(v.tokens[m.l], v.tokens[m.r]);
  return out;
}

json special_entry(const std::string& t, int id) {
  return {{"id", t}, {"ids", {id}}, {"tokens", {t}}};
}

}  // namespace

void write_tokenizer_json(const VocabSpec& v, const std::string& path) {
  const bool spm = v.kind == VocabSpec::Kind::Spm;
  for (auto id : {v.bos_id, v.eos_id, v.unk_id})
    if (id >= int(v.tokens.size())) fail("{}: special token id {} out of range for {} tokens", path, id, v.tokens.size());
  json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  json added = json::array();
  json vocab = json::object();
  TokenMap ids;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (!ids.emplace(v.tokens[i], int(i)).second) continue;  // keep the first of duplicates
    vocab[v.tokens[i]] = i;
    int ty = type_of(v, i);
    if (ty == 2 || ty == 3 || ty == 4)
      added.push_back({{"id", i}, {"content", v.tokens[i]}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", ty != 4}});
  }
  j["added_tokens"] = added;

  std::vector<std::pair<std::string, std::string>> merges;
  if (spm) {
    merges = spm_merges(v, ids);
    json norm = json::array();
    if (v.add_space_prefix) norm.push_back({{"type", "Prepend"}, {"prepend", kSpace}});
    norm.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kSpace}});
    j["normalizer"] = {{"type", "Sequence"}, {"normalizers", norm}};
    j["pre_tokenizer"] = nullptr;
  } else {
    for (size_t i = 0; i < v.merges.size(); ++i) {
      size_t sp = v.merges[i].find(' ', 1);
      if (sp == std::string::npos) fail("{}: merge {} ('{}') has no space", path, i, v.merges[i]);
      merges.emplace_back(v.merges[i].substr(0, sp), v.merges[i].substr(sp + 1));
    }
    j["normalizer"] = nullptr;
    json pres = json::array();
    for (const auto& rx : llama_cpp_pre(v.pre, path).regexes)
      pres.push_back({{"type", "Split"}, {"pattern", {{"Regex", rx}}}, {"behavior", "Isolated"}, {"invert", false}});
    pres.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}});
    j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", pres}};
  }

  json single = json::array(), pair = json::array(), specials = json::object();
  auto add_special = [&](int id) {
    const std::string& t = v.tokens[id];
    single.push_back({{"SpecialToken", {{"id", t}, {"type_id", 0}}}});
    specials[t] = special_entry(t, id);
  };
  if (v.add_bos && v.bos_id >= 0) add_special(v.bos_id);
  single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  if (v.add_eos && v.eos_id >= 0) add_special(v.eos_id);
  for (const auto& item : single) pair.push_back(item);
  pair.push_back({{"Sequence", {{"id", "B"}, {"type_id", 1}}}});
  j["post_processor"] = {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", specials}};

  if (spm) {
    json decs = json::array();
    decs.push_back({{"type", "Replace"}, {"pattern", {{"String", kSpace}}}, {"content", " "}});
    decs.push_back({{"type", "ByteFallback"}});
    decs.push_back({{"type", "Fuse"}});
    if (v.add_space_prefix) decs.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    j["decoder"] = {{"type", "Sequence"}, {"decoders", decs}};
  } else {
    j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  }
  json model = {{"type", "BPE"}, {"dropout", nullptr}};
  model["unk_token"] = spm && v.unk_id >= 0 ? json(v.tokens[v.unk_id]) : json(nullptr);
  model["continuing_subword_prefix"] = nullptr;
  model["end_of_word_suffix"] = nullptr;
  model["fuse_unk"] = spm;
  model["byte_fallback"] = spm;
  model["ignore_merges"] = !spm && llama_cpp_pre(v.pre, path).ignore_merges;
  model["vocab"] = vocab;
  json jm = json::array();
  for (const auto& [a, b] : merges) jm.push_back({a, b});
  model["merges"] = jm;
  j["model"] = model;

  std::ofstream f(path, std::ios::binary);
  if (!f) fail("{}: cannot create file", path);
  f << j.dump(1) << "\n";
  if (!f) fail("{}: write failed", path);
}

void write_llama2c_tokenizer(const VocabSpec& v, const std::string& path) {
  if (v.kind != VocabSpec::Kind::Spm)
    fail("{}: a llama2.c tokenizer.bin needs a SentencePiece (Spm) vocabulary, not a byte-level BPE one", path);
  for (int b = 0; b < 256; ++b) {
    std::string want = fmt::format("<0x{:02X}>", b);
    if (size_t(b + 3) >= v.tokens.size() || v.tokens[b + 3] != want)
      fail("{}: llama2.c expects byte token '{}' at id {}, the vocabulary has '{}'", path, want, b + 3,
           size_t(b + 3) < v.tokens.size() ? v.tokens[b + 3] : std::string("nothing"));
  }
  std::vector<std::string> pieces;
  int32_t max_len = 0;
  for (const auto& t : v.tokens) {
    pieces.push_back(replace_all(t, kSpace, " "));
    max_len = std::max<int32_t>(max_len, int32_t(pieces.back().size()));
  }
  std::string out(reinterpret_cast<const char*>(&max_len), 4);
  for (size_t i = 0; i < pieces.size(); ++i) {
    float score = i < v.scores.size() ? v.scores[i] : 0.f;
    int32_t len = int32_t(pieces[i].size());
    out.append(reinterpret_cast<const char*>(&score), 4);
    out.append(reinterpret_cast<const char*>(&len), 4);
    out += pieces[i];
  }
  std::ofstream f(path, std::ios::binary);
  if (!f) fail("{}: cannot create file", path);
  f.write(out.data(), std::streamsize(out.size()));
  if (!f) fail("{}: write failed", path);
}

}  // namespace tessera

// Hugging Face tokenizer.json (model type BPE only). The file is translated once into the
// shared building blocks (special-token splitter, normalizer steps, pre-tokenizer steps,
// BpeModel, decoder steps, BOS/EOS from the post-processor); every component type this
// file does not know is an error naming its JSON path, never silently ignored.
#include "tokenizer/hf_tokenizer_json.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tokenizer/bpe_merge.h"
#include "tokenizer/decoders.h"
#include "tokenizer/normalize.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/utf8.h"

namespace tessera {

using json = nlohmann::json;

namespace {

class Reader {
 public:
  explicit Reader(std::string where) : where_(std::move(where)) {}
  const std::string& where() const { return where_; }

  [[noreturn]] void bad(const std::string& path, const std::string& what) const {
    fail("{}: {}: {}", where_, path, what);
  }
  const json& field(const json& o, const char* key, const std::string& path) const {
    if (!o.is_object()) bad(path, "expected an object");
    auto it = o.find(key);
    if (it == o.end()) bad(path, fmt::format("missing field '{}'", key));
    return *it;
  }
  const json* opt(const json& o, const char* key) const {
    if (!o.is_object()) return nullptr;
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return nullptr;
    return &*it;
  }
  std::string str(const json& v, const std::string& path) const {
    if (!v.is_string()) bad(path, "expected a string");
    return v.get<std::string>();
  }
  std::string str(const json& o, const char* key, const std::string& path,
                  std::optional<std::string> dflt = std::nullopt) const {
    const json* v = opt(o, key);
    if (!v) {
      if (dflt) return *dflt;
      bad(path, fmt::format("missing field '{}'", key));
    }
    return str(*v, path + "." + key);
  }
  bool boolean(const json& o, const char* key, const std::string& path, bool dflt) const {
    const json* v = opt(o, key);
    if (!v) return dflt;
    if (!v->is_boolean()) bad(path + "." + key, "expected true or false");
    return v->get<bool>();
  }
  int64_t integer(const json& v, const std::string& path) const {
    if (!v.is_number_integer()) bad(path, "expected an integer");
    return v.get<int64_t>();
  }
  const json& array(const json& v, const std::string& path) const {
    if (!v.is_array()) bad(path, "expected an array");
    return v;
  }

 private:
  std::string where_;
};

class HfTokenizer : public Tokenizer {
 public:
  HfTokenizer(std::string_view text, const std::string& where, std::string_view config);

  std::vector<int> encode(std::string_view text, bool add_special) const override;
  std::string decode(const std::vector<int>& ids, bool keep_special) const override;
  int vocab_size() const override { return int(id_to_token_.size()); }
  int bos_id() const override { return bos_; }
  std::vector<int> eos_ids() const override { return eos_; }
  std::optional<int> token_id(std::string_view token) const override {
    if (auto id = lookup(added_, token)) return id;
    return lookup(bpe_->vocab(), token);
  }
  std::string token_text(int id) const override {
    if (id < 0 || id >= vocab_size()) fail("{}: token id {} out of range [0, {})", where_, id, vocab_size());
    return id_to_token_[id];
  }

 private:
  void parse_model(const Reader& r, const json& m);
  void parse_added(const Reader& r, const json& a);
  void parse_normalizer(const Reader& r, const json& n, const std::string& path);
  void parse_pre(const Reader& r, const json& p, const std::string& path);
  void parse_decoder(const Reader& r, const json& d, const std::string& path);
  void parse_post(const Reader& r, const json& p, const std::string& path);
  int special_id(const Reader& r, const std::string& tok, const std::string& path) const;
  void find_bos_eos(std::string_view config);

  std::string where_;
  std::unique_ptr<BpeModel> bpe_;
  std::vector<std::string> id_to_token_;
  std::vector<AddedToken> added_list_;
  TokenMap added_;
  std::vector<bool> special_;
  SpecialSplitter splitter_;
  std::vector<NormalizeStep> norm_;
  std::vector<std::unique_ptr<PreTokenizeStep>> pre_;
  std::vector<DecodeStep> dec_;
  bool has_decoder_ = false;
  std::vector<int> prefix_, suffix_;
  int bos_ = -1;
  std::vector<int> eos_;
};

HfTokenizer::HfTokenizer(std::string_view text, const std::string& where, std::string_view config)
    : where_(where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", where, e.what());
  }
  Reader r(where);
  if (!j.is_object()) r.bad("(top level)", "expected a JSON object");
  parse_model(r, r.field(j, "model", "(top level)"));
  if (const json* a = r.opt(j, "added_tokens")) parse_added(r, *a);
  if (const json* n = r.opt(j, "normalizer")) parse_normalizer(r, *n, "normalizer");
  if (const json* p = r.opt(j, "pre_tokenizer")) parse_pre(r, *p, "pre_tokenizer");
  if (const json* d = r.opt(j, "decoder")) {
    has_decoder_ = true;
    parse_decoder(r, *d, "decoder");
  }
  if (const json* p = r.opt(j, "post_processor")) parse_post(r, *p, "post_processor");
  find_bos_eos(config);
}

void HfTokenizer::parse_model(const Reader& r, const json& m) {
  std::string type = r.str(m, "type", "model", std::string("BPE"));
  if (type != "BPE")
    r.bad("model.type", fmt::format("unsupported model type '{}' (only BPE is supported)", type));
  if (const json* d = r.opt(m, "dropout"))
    if (!d->is_number() || d->get<double>() != 0.0)
      r.bad("model.dropout", "BPE dropout is not supported");
  for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (const json* v = r.opt(m, k))
      if (!r.str(*v, std::string("model.") + k).empty())
        r.bad(std::string("model.") + k, "non-empty value is not supported");

  const json& vocab = r.field(m, "vocab", "model");
  if (!vocab.is_object()) r.bad("model.vocab", "expected an object of token -> id");
  TokenMap map;
  map.reserve(vocab.size());
  int64_t max_id = -1;
  // Ids must be dense-ish: bounded by the number of entries, so a hostile file cannot
  // make us allocate a table far larger than itself.
  const int64_t limit = int64_t(vocab.size()) + 65536;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    std::string path = fmt::format("model.vocab[\"{}\"]", it.key());
    int64_t id = r.integer(it.value(), path);
    if (id < 0 || id >= limit)
      r.bad(path, fmt::format("id {} out of range [0, {})", id, limit));
    map.emplace(it.key(), int(id));
    max_id = std::max(max_id, id);
  }
  id_to_token_.resize(size_t(max_id + 1));
  for (const auto& [t, id] : map)
    if (id_to_token_[id].empty()) id_to_token_[id] = t;

  std::vector<std::pair<std::string, std::string>> merges;
  if (const json* ms = r.opt(m, "merges")) {
    r.array(*ms, "model.merges");
    merges.reserve(ms->size());
    for (size_t i = 0; i < ms->size(); ++i) {
      std::string path = fmt::format("model.merges[{}]", i);
      const json& e = (*ms)[i];
      if (e.is_string()) {
        std::string s = e.get<std::string>();
        size_t sp = s.find(' ', 1);
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
          r.bad(path, fmt::format("merge '{}' is not two tokens separated by one space", s));
        merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
      } else {
        r.bad(path, "expected \"a b\" or [\"a\", \"b\"]");
      }
    }
  }
  BpeModel::Options opt;
  opt.byte_fallback = r.boolean(m, "byte_fallback", "model", false);
  opt.fuse_unk = r.boolean(m, "fuse_unk", "model", false);
  opt.ignore_merges = r.boolean(m, "ignore_merges", "model", false);
  if (const json* u = r.opt(m, "unk_token")) {
    std::string unk = r.str(*u, "model.unk_token");
    auto id = lookup(map, unk);
    if (!id) r.bad("model.unk_token", fmt::format("'{}' is not in the vocabulary", unk));
    opt.unk_id = *id;
  }
  bpe_ = std::make_unique<BpeModel>(std::move(map), merges, opt, where_ + ": model.merges");
}

void HfTokenizer::parse_added(const Reader& r, const json& a) {
  r.array(a, "added_tokens");
  const int64_t limit = int64_t(id_to_token_.size()) + int64_t(a.size()) + 65536;
  for (size_t i = 0; i < a.size(); ++i) {
    std::string path = fmt::format("added_tokens[{}]", i);
    const json& t = a[i];
    AddedToken at;
    at.content = r.str(t, "content", path);
    int64_t id = r.integer(r.field(t, "id", path), path + ".id");
    if (id < 0 || id >= limit) r.bad(path + ".id", fmt::format("id {} out of range [0, {})", id, limit));
    if (at.content.empty()) r.bad(path + ".content", "empty token");
    utf8::validate(at.content, where_ + ": " + path + ".content");
    at.id = int(id);
    at.special = r.boolean(t, "special", path, false);
    at.lstrip = r.boolean(t, "lstrip", path, false);
    at.rstrip = r.boolean(t, "rstrip", path, false);
    if (size_t(id) >= id_to_token_.size()) id_to_token_.resize(size_t(id) + 1);
    if (id_to_token_[id].empty()) id_to_token_[id] = at.content;
    added_[at.content] = at.id;
    added_list_.push_back(at);
  }
  special_.assign(id_to_token_.size(), false);
  for (const auto& t : added_list_)
    if (t.special) special_[t.id] = true;
  splitter_ = SpecialSplitter(added_list_);
}

void HfTokenizer::parse_normalizer(const Reader& r, const json& n, const std::string& path) {
  std::string type = r.str(n, "type", path);
  if (type == "Sequence") {
    const json& ns = r.array(r.field(n, "normalizers", path), path + ".normalizers");
    for (size_t i = 0; i < ns.size(); ++i)
      parse_normalizer(r, ns[i], fmt::format("{}.normalizers[{}]", path, i));
  } else if (type == "Prepend") {
    norm_.push_back({NormalizeStep::Kind::Prepend, r.str(n, "prepend", path), "", nullptr});
  } else if (type == "Replace") {
    const json& pat = r.field(n, "pattern", path);
    std::string content = r.str(n, "content", path);
    if (const json* s = r.opt(pat, "String")) {
      std::string p = r.str(*s, path + ".pattern.String");
      if (p.empty()) r.bad(path + ".pattern.String", "empty pattern");
      norm_.push_back({NormalizeStep::Kind::Replace, p, content, nullptr});
    } else if (const json* re = r.opt(pat, "Regex")) {
      auto rx = std::make_shared<Regex>(r.str(*re, path + ".pattern.Regex"),
                                        where_ + ": " + path + ".pattern.Regex");
      norm_.push_back({NormalizeStep::Kind::Replace, "", content, rx});
    } else {
      r.bad(path + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
    }
  } else if (type == "NFC") {
    norm_.push_back({NormalizeStep::Kind::Nfc, "", "", nullptr});
  } else {
    r.bad(path, fmt::format("unsupported normalizer type '{}'", type));
  }
}

SplitBehavior parse_behavior(const Reader& r, const std::string& b, const std::string& path) {
  if (b == "Removed") return SplitBehavior::Removed;
  if (b == "Isolated") return SplitBehavior::Isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (b == "Contiguous") return SplitBehavior::Contiguous;
  r.bad(path, fmt::format("unknown split behavior '{}'", b));
}

PrependScheme parse_scheme(const Reader& r, const json& p, const std::string& path) {
  if (const json* s = r.opt(p, "prepend_scheme")) {
    std::string v = r.str(*s, path + ".prepend_scheme");
    if (v == "always") return PrependScheme::Always;
    if (v == "first") return PrependScheme::First;
    if (v == "never") return PrependScheme::Never;
    r.bad(path + ".prepend_scheme", fmt::format("unknown prepend_scheme '{}'", v));
  }
  return r.boolean(p, "add_prefix_space", path, true) ? PrependScheme::Always : PrependScheme::Never;
}

void HfTokenizer::parse_pre(const Reader& r, const json& p, const std::string& path) {
  std::string type = r.str(p, "type", path);
  std::string where = where_ + ": " + path;
  if (type == "Sequence") {
    const json& ps = r.array(r.field(p, "pretokenizers", path), path + ".pretokenizers");
    for (size_t i = 0; i < ps.size(); ++i)
      parse_pre(r, ps[i], fmt::format("{}.pretokenizers[{}]", path, i));
  } else if (type == "ByteLevel") {
    pre_.push_back(make_byte_level(r.boolean(p, "add_prefix_space", path, true),
                                   r.boolean(p, "use_regex", path, true), where));
  } else if (type == "Split") {
    const json& pat = r.field(p, "pattern", path);
    std::shared_ptr<Regex> re;
    if (const json* s = r.opt(pat, "String"))
      re = std::make_shared<Regex>(r.str(*s, path + ".pattern.String"), where + ".pattern", true);
    else if (const json* x = r.opt(pat, "Regex"))
      re = std::make_shared<Regex>(r.str(*x, path + ".pattern.Regex"), where + ".pattern");
    else
      r.bad(path + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
    auto b = parse_behavior(r, r.str(p, "behavior", path), path + ".behavior");
    pre_.push_back(make_split(re, b, r.boolean(p, "invert", path, false)));
  } else if (type == "Digits") {
    pre_.push_back(make_digits(r.boolean(p, "individual_digits", path, false), where));
  } else if (type == "Metaspace") {
    std::string rep = r.str(p, "replacement", path, std::string("\xE2\x96\x81"));
    if (rep.empty()) r.bad(path + ".replacement", "empty replacement");
    pre_.push_back(make_metaspace(rep, parse_scheme(r, p, path), r.boolean(p, "split", path, true), where));
  } else {
    r.bad(path, fmt::format("unsupported pre-tokenizer type '{}'", type));
  }
}

void HfTokenizer::parse_decoder(const Reader& r, const json& d, const std::string& path) {
  std::string type = r.str(d, "type", path);
  using K = DecodeStep::Kind;
  if (type == "Sequence") {
    const json& ds = r.array(r.field(d, "decoders", path), path + ".decoders");
    for (size_t i = 0; i < ds.size(); ++i)
      parse_decoder(r, ds[i], fmt::format("{}.decoders[{}]", path, i));
  } else if (type == "ByteLevel") {
    dec_.push_back({K::ByteLevel, "", "", 0, 0, false});
  } else if (type == "ByteFallback") {
    dec_.push_back({K::ByteFallback, "", "", 0, 0, false});
  } else if (type == "Fuse") {
    dec_.push_back({K::Fuse, "", "", 0, 0, false});
  } else if (type == "Replace") {
    const json& pat = r.field(d, "pattern", path);
    const json* s = r.opt(pat, "String");
    if (!s) r.bad(path + ".pattern", "only {\"String\": ...} patterns are supported in decoders");
    std::string from = r.str(*s, path + ".pattern.String");
    if (from.empty()) r.bad(path + ".pattern.String", "empty pattern");
    dec_.push_back({K::Replace, from, r.str(d, "content", path), 0, 0, false});
  } else if (type == "Strip") {
    std::string c = r.str(d, "content", path);
    if (c.empty()) r.bad(path + ".content", "empty content");
    auto count = [&](const char* k) {
      int64_t v = r.integer(r.field(d, k, path), path + "." + k);
      if (v < 0 || v > 1000000) r.bad(path + "." + k, fmt::format("count {} out of range", v));
      return int(v);
    };
    dec_.push_back({K::Strip, c, "", count("start"), count("stop"), false});
  } else if (type == "Metaspace") {
    std::string rep = r.str(d, "replacement", path, std::string("\xE2\x96\x81"));
    if (rep.empty()) r.bad(path + ".replacement", "empty replacement");
    dec_.push_back({K::Metaspace, rep, "", 0, 0, parse_scheme(r, d, path) != PrependScheme::Never});
  } else {
    r.bad(path, fmt::format("unsupported decoder type '{}'", type));
  }
}

int HfTokenizer::special_id(const Reader& r, const std::string& tok, const std::string& path) const {
  auto id = token_id(tok);
  if (!id) r.bad(path, fmt::format("token '{}' is not in the vocabulary", tok));
  return *id;
}

void HfTokenizer::parse_post(const Reader& r, const json& p, const std::string& path) {
  std::string type = r.str(p, "type", path);
  if (type == "Sequence") {
    const json& ps = r.array(r.field(p, "processors", path), path + ".processors");
    for (size_t i = 0; i < ps.size(); ++i)
      parse_post(r, ps[i], fmt::format("{}.processors[{}]", path, i));
  } else if (type == "ByteLevel") {
    // offsets only
  } else if (type == "TemplateProcessing") {
    const json& single = r.array(r.field(p, "single", path), path + ".single");
    const json* specials = r.opt(p, "special_tokens");
    bool seen_a = false;
    for (size_t i = 0; i < single.size(); ++i) {
      std::string ipath = fmt::format("{}.single[{}]", path, i);
      if (const json* s = r.opt(single[i], "Sequence")) {
        std::string id = r.str(*s, "id", ipath + ".Sequence");
        if (id != "A" || seen_a) r.bad(ipath, "the single template must contain sequence A once");
        seen_a = true;
      } else if (const json* s = r.opt(single[i], "SpecialToken")) {
        std::string name = r.str(*s, "id", ipath + ".SpecialToken");
        std::vector<int> ids;
        const json* st = specials ? r.opt(*specials, name.c_str()) : nullptr;
        if (st) {
          const json& arr = r.array(r.field(*st, "ids", path + ".special_tokens." + name),
                                    path + ".special_tokens." + name + ".ids");
          for (size_t k = 0; k < arr.size(); ++k) {
            int64_t v = r.integer(arr[k], fmt::format("{}.special_tokens.{}.ids[{}]", path, name, k));
            if (v < 0 || v >= vocab_size())
              r.bad(fmt::format("{}.special_tokens.{}.ids[{}]", path, name, k),
                    fmt::format("id {} out of range [0, {})", v, vocab_size()));
            ids.push_back(int(v));
          }
        } else {
          ids.push_back(special_id(r, name, ipath));
        }
        auto& dst = seen_a ? suffix_ : prefix_;
        dst.insert(dst.end(), ids.begin(), ids.end());
      } else {
        r.bad(ipath, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      }
    }
    if (!seen_a) r.bad(path + ".single", "template has no sequence A");
  } else if (type == "RobertaProcessing" || type == "BertProcessing") {
    auto pair_id = [&](const char* k) {
      const json& v = r.field(p, k, path);
      if (!v.is_array() || v.size() != 2) r.bad(path + "." + k, "expected [token, id]");
      int64_t id = r.integer(v[1], path + "." + k + "[1]");
      if (id < 0 || id >= vocab_size()) r.bad(path + "." + k, fmt::format("id {} out of range", id));
      return int(id);
    };
    prefix_.push_back(pair_id("cls"));
    suffix_.push_back(pair_id("sep"));
  } else {
    r.bad(path, fmt::format("unsupported post-processor type '{}'", type));
  }
}

void HfTokenizer::find_bos_eos(std::string_view config) {
  std::optional<std::string> bos_name, eos_name;
  if (!config.empty()) {
    json c;
    try {
      c = json::parse(config);
    } catch (const json::exception& e) {
      fail("{}: tokenizer_config.json beside it is not valid JSON: {}", where_, e.what());
    }
    auto name = [&](const char* key) -> std::optional<std::string> {
      if (!c.is_object() || !c.contains(key)) return std::nullopt;
      const json& v = c[key];
      if (v.is_string()) return v.get<std::string>();
      if (v.is_object() && v.contains("content") && v["content"].is_string())
        return v["content"].get<std::string>();
      return std::nullopt;
    };
    bos_name = name("bos_token");
    eos_name = name("eos_token");
  }
  if (!prefix_.empty()) bos_ = prefix_.front();
  else if (bos_name)
    if (auto id = token_id(*bos_name)) bos_ = *id;
  if (eos_name)
    if (auto id = token_id(*eos_name)) eos_.push_back(*id);
  if (eos_.empty() && !suffix_.empty()) eos_.push_back(suffix_.back());
  if (eos_.empty())
    for (const char* n : {"</s>", "<|endoftext|>", "<|end_of_text|>", "<|eot_id|>", "<|im_end|>", "<eos>"})
      if (auto id = lookup(added_, n)) {
        eos_.push_back(*id);
        break;
      }
}

std::vector<int> HfTokenizer::encode(std::string_view text, bool add_special) const {
  utf8::validate(text, "input text");
  std::vector<int> out;
  if (add_special) out = prefix_;
  std::vector<std::string> pieces;
  for (const Segment& seg : splitter_.empty() ? std::vector<Segment>{{0, text.size(), -1}}
                                              : splitter_.split(text)) {
    if (seg.token >= 0) {
      out.push_back(seg.token);
      continue;
    }
    if (seg.end == seg.begin) continue;
    std::string s(text.substr(seg.begin, seg.end - seg.begin));
    normalize(norm_, s, where_);
    if (s.empty()) continue;
    pieces.assign(1, std::move(s));
    run_steps(pre_, pieces, seg.begin == 0);
    for (const auto& p : pieces) bpe_->encode_word(p, out);
  }
  if (add_special) out.insert(out.end(), suffix_.begin(), suffix_.end());
  return out;
}

std::string HfTokenizer::decode(const std::vector<int>& ids, bool keep_special) const {
  std::vector<std::string> toks;
  toks.reserve(ids.size());
  for (int id : ids) {
    if (id < 0 || id >= vocab_size()) fail("{}: token id {} out of range [0, {})", where_, id, vocab_size());
    if (!keep_special && size_t(id) < special_.size() && special_[id]) continue;
    toks.push_back(id_to_token_[id]);
  }
  if (!has_decoder_) {
    std::string out;
    for (size_t i = 0; i < toks.size(); ++i) out += (i ? " " : "") + toks[i];
    return out;
  }
  return run_decoders(dec_, std::move(toks));
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer_json_string(std::string_view json_text,
                                                      const std::string& where,
                                                      std::string_view config_json) {
  try {
    return std::make_unique<HfTokenizer>(json_text, where, config_json);
  } catch (const json::exception& e) {  // a type mismatch the explicit checks missed
    fail("{}: malformed tokenizer.json: {}", where, e.what());
  }
}

namespace {
std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("{}: cannot open file", path);
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) fail("{}: read error", path);
  return ss.str();
}
}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& path) {
  std::string text = read_file(path);
  std::string config;
  auto cfg = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  std::error_code ec;
  if (std::filesystem::is_regular_file(cfg, ec)) config = read_file(cfg.string());
  return load_tokenizer_json_string(text, path, config);
}

}  // namespace tessera

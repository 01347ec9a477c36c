// Tokenizers built from a VocabSpec (GGUF vocabularies): SPM agreement with llama2.c on
// the same vocabulary, byte-level BPE on the real SmolLM2 GGUF vocabulary (ids pinned by
// HF tokenizers), the built-in vocabularies and their writers, and diagnostics.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/mapped_file.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace {

using tessera::VocabSpec;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tessera::Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string replace_all(std::string s, const std::string& a, const std::string& b) {
  for (size_t p = 0; (p = s.find(a, p)) != std::string::npos; p += b.size()) s.replace(p, a.size(), b);
  return s;
}

std::vector<std::string> random_texts(int n, unsigned seed) {
  std::mt19937 rng(seed);
  const char* parts[] = {"a", "b", " ", "  ", "\n", "é", "日本", "😀", "The", " cat", "!", "0", "Once",
                         " upon", " time", "\t", "Lily", " park", "ü", "x"};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string s;
    for (int k = std::uniform_int_distribution<int>(0, 14)(rng); k > 0; --k)
      s += parts[std::uniform_int_distribution<int>(0, 19)(rng)];
    out.push_back(s);
  }
  return out;
}

// The tok512.bin vocabulary as a GGUF "llama" vocabulary would carry it.
std::optional<VocabSpec> spm_from_tok512() {
  auto p = tessera::test::shared_model("tok512.bin");
  if (!p) return std::nullopt;
  auto t = tessera::load_llama2c_tokenizer(*p, 512);
  auto f = tessera::MappedFile::open(*p);
  VocabSpec v;
  size_t pos = 4;
  for (int i = 0; i < 512; ++i) {
    float score;
    int32_t len;
    std::memcpy(&score, f->data() + pos, 4);
    std::memcpy(&len, f->data() + pos + 4, 4);
    std::string piece(reinterpret_cast<const char*>(f->data() + pos + 8), size_t(len));
    pos += 8 + size_t(len);
    v.tokens.push_back(i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>" : replace_all(piece, " ", "\xE2\x96\x81"));
    v.scores.push_back(score);
    v.token_types.push_back(i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1);
  }
  v.bos_id = 1;
  v.eos_id = 2;
  v.unk_id = 0;
  return v;
}

TEST(VocabTokenizer, SpmAgreesWithLlama2cOnSameVocabulary) {
  auto v = spm_from_tok512();
  if (!v) GTEST_SKIP() << "shared/models/tok512.bin not found";
  auto spm = tessera::tokenizer_from_vocab(*v, "tok512 as spm");
  auto l2c = tessera::load_llama2c_tokenizer(*tessera::test::shared_model("tok512.bin"), 512);
  EXPECT_EQ(spm->encode("Once upon a time", true), (std::vector<int>{1, 403, 407, 261, 378}));
  for (const auto& s : random_texts(500, 3)) {
    auto ids = spm->encode(s, true);
    EXPECT_EQ(ids, l2c->encode(s, true)) << "text: " << s;
    EXPECT_EQ(spm->decode(ids), s);
    EXPECT_EQ(spm->decode(spm->encode(s, false)), s);
  }
  EXPECT_EQ(spm->encode("hi<s>x", false).at(2), 1);  // control tokens in text are matched
}

// Just enough GGUF (v3) reading to pull tokenizer.ggml.* out of the SmolLM2 file, so this
// test does not depend on the GGUF importer.
std::optional<VocabSpec> smollm2_vocab() {
  auto p = tessera::test::smollm2_gguf();
  if (!p) return std::nullopt;
  auto f = tessera::MappedFile::open(*p);
  const uint8_t* d = f->data();
  size_t pos = 8;
  auto u64 = [&] { uint64_t v; std::memcpy(&v, d + pos, 8); pos += 8; return v; };
  auto u32 = [&] { uint32_t v; std::memcpy(&v, d + pos, 4); pos += 4; return v; };
  auto str = [&] { uint64_t n = u64(); std::string s(reinterpret_cast<const char*>(d + pos), n); pos += n; return s; };
  u64();  // tensor count
  uint64_t nkv = u64();
  const size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
  VocabSpec v;
  v.kind = VocabSpec::Kind::Gpt2Bpe;
  for (uint64_t k = 0; k < nkv; ++k) {
    std::string key = str();
    uint32_t type = u32();
    if (type == 8) {
      std::string s = str();
      if (key == "tokenizer.ggml.pre") v.pre = s;
    } else if (type == 9) {
      uint32_t et = u32();
      uint64_t n = u64();
      for (uint64_t i = 0; i < n; ++i) {
        if (et == 8) {
          std::string s = str();
          if (key == "tokenizer.ggml.tokens") v.tokens.push_back(s);
          if (key == "tokenizer.ggml.merges") v.merges.push_back(s);
        } else {
          if (key == "tokenizer.ggml.token_type") { int32_t t; std::memcpy(&t, d + pos, 4); v.token_types.push_back(t); }
          pos += sizes[et];
        }
      }
    } else {
      uint64_t val = 0;
      std::memcpy(&val, d + pos, sizes[type]);
      pos += sizes[type];
      if (key == "tokenizer.ggml.bos_token_id") v.bos_id = int(val);
      if (key == "tokenizer.ggml.eos_token_id") v.eos_id = int(val);
      if (key == "tokenizer.ggml.add_bos_token") v.add_bos = val & 1;
    }
  }
  return v;
}

TEST(VocabTokenizer, SmolLM2GgufVocabularyMatchesHuggingFace) {
  auto v = smollm2_vocab();
  if (!v) GTEST_SKIP() << "SmolLM2 GGUF not found (~/.cache/tessera or $TESSERA_SMOLLM2_GGUF)";
  ASSERT_EQ(v->pre, "smollm");
  auto tok = tessera::tokenizer_from_vocab(*v, "smollm2.gguf");
  // ids from HF tokenizers on SmolLM2's tokenizer.json (Digits + ByteLevel pre-tokenizer)
  EXPECT_EQ(tok->encode("Hello world! 12345", true),
            (std::vector<int>{19556, 905, 17, 216, 33, 34, 35, 36, 37}));
  EXPECT_EQ(tok->encode("<|im_start|>user\nWhat is 2+2?<|im_end|>\n", true),
            (std::vector<int>{1, 4093, 198, 1780, 314, 216, 34, 27, 34, 47, 2, 198}));
  EXPECT_EQ(tok->encode("def f(x):\n    return x  # 日本語 😀", true),
            (std::vector<int>{1604, 275, 24, 104, 727, 472, 1003, 1792, 216, 907, 17097, 241, 115,
                              40993, 179, 120, 248, 40303, 218}));
  EXPECT_EQ(tok->eos_ids(), std::vector<int>{2});
  for (const auto& s : random_texts(300, 5)) EXPECT_EQ(tok->decode(tok->encode(s, false)), s);

  // Performance: 1 MB of mixed text with a 49k-merge vocabulary.
  std::string big;
  auto texts = random_texts(2000, 9);
  while (big.size() < (1 << 20)) for (const auto& s : texts) big += s + " The quick brown fox. ";
  double t0 = tessera::test::thread_cpu_seconds();
  auto ids = tok->encode(big, false);
  double secs = tessera::test::thread_cpu_seconds() - t0;
  EXPECT_LT(secs, 1.0) << ids.size() << " tokens";
  EXPECT_EQ(tok->decode(ids), big);
}

TEST(VocabTokenizer, LongSpmTextIsFast) {
  auto v = tessera::make_builtin_vocab(4096, VocabSpec::Kind::Spm);
  auto tok = tessera::tokenizer_from_vocab(v, "builtin");
  std::string big;
  while (big.size() < (1 << 20)) big += "Once upon a time the girl wrote her own story, 日本語 😀. ";
  double t0 = tessera::test::thread_cpu_seconds();
  auto ids = tok->encode(big, false);
  double secs = tessera::test::thread_cpu_seconds() - t0;
  EXPECT_LT(secs, 1.5);
  EXPECT_EQ(tok->decode(ids), big);
}

TEST(BuiltinVocab, DeterministicSizesAndFast) {
  for (auto kind : {VocabSpec::Kind::Gpt2Bpe, VocabSpec::Kind::Spm}) {
    for (int n : {300, 1000, 32000, 152064}) {
      double t0 = tessera::test::thread_cpu_seconds();
      auto v = tessera::make_builtin_vocab(n, kind);
      double secs = tessera::test::thread_cpu_seconds() - t0;
      EXPECT_LT(secs, 1.0);
      EXPECT_EQ(int(v.tokens.size()), n);
      EXPECT_EQ(v.token_types.size(), v.tokens.size());
      EXPECT_GE(v.bos_id, 0);
      EXPECT_GE(v.eos_id, 0);
      auto again = tessera::make_builtin_vocab(n, kind);
      EXPECT_EQ(again.tokens, v.tokens);
      EXPECT_EQ(again.merges, v.merges);
      auto tok = tessera::tokenizer_from_vocab(v, "builtin");
      auto ids = tok->encode("Once upon a time, the girl read a book.", false);
      EXPECT_LT(ids.size(), 36u) << "merges learned from the paragraph should apply";
      EXPECT_EQ(tok->decode(ids), "Once upon a time, the girl read a book.");
    }
  }
  EXPECT_EQ(error_of([] { tessera::make_builtin_vocab(100, VocabSpec::Kind::Spm); }),
            "built-in vocabulary: vocab_size 100 is too small (at least 300 needed for the 256 byte "
            "tokens, BOS/EOS and some merges)");
}

TEST(BuiltinVocab, WrittenTokenizerJsonEncodesLikeTheVocab) {
  tessera::test::TempDir dir;
  for (auto kind : {VocabSpec::Kind::Gpt2Bpe, VocabSpec::Kind::Spm}) {
    auto v = tessera::make_builtin_vocab(1000, kind);
    auto from_vocab = tessera::tokenizer_from_vocab(v, "builtin");
    tessera::write_tokenizer_json(v, dir.file("tokenizer.json"));
    auto from_json = tessera::load_tokenizer_json(dir.file("tokenizer.json"));
    EXPECT_EQ(from_json->vocab_size(), 1000);
    EXPECT_EQ(from_json->bos_id(), v.bos_id);
    for (const auto& s : random_texts(300, 11)) {
      auto ids = from_json->encode(s, true);
      EXPECT_EQ(ids, from_vocab->encode(s, true)) << "text: " << s;
      EXPECT_EQ(from_json->decode(ids), s);
    }
  }
}

TEST(BuiltinVocab, WrittenLlama2cTokenizerEncodesLikeTheVocab) {
  tessera::test::TempDir dir;
  auto v = tessera::make_builtin_vocab(600, VocabSpec::Kind::Spm);
  tessera::write_llama2c_tokenizer(v, dir.file("tokenizer.bin"));
  auto l2c = tessera::load_llama2c_tokenizer(dir.file("tokenizer.bin"), 600);
  auto spm = tessera::tokenizer_from_vocab(v, "builtin");
  for (const auto& s : random_texts(300, 13)) EXPECT_EQ(l2c->encode(s, true), spm->encode(s, true)) << s;
  auto bpe = tessera::make_builtin_vocab(600, VocabSpec::Kind::Gpt2Bpe);
  EXPECT_EQ(error_of([&] { tessera::write_llama2c_tokenizer(bpe, dir.file("x.bin")); }),
            dir.file("x.bin") + ": a llama2.c tokenizer.bin needs a SentencePiece (Spm) vocabulary, not a byte-level BPE one");
}

TEST(VocabTokenizer, Diagnostics) {
  auto v = tessera::make_builtin_vocab(400, VocabSpec::Kind::Gpt2Bpe);
  auto err = [](VocabSpec v) { return error_of([&] { tessera::tokenizer_from_vocab(v, "m.gguf"); }); };
  { auto b = v; b.pre = "klingon";
    EXPECT_EQ(err(b).rfind("m.gguf: unsupported pre-tokenizer 'klingon' (tokenizer.ggml.pre); supported: ", 0), 0u); }
  { auto b = v; b.merges[3] = "nospace";
    EXPECT_EQ(err(b), "m.gguf: merge 3 ('nospace') is not two tokens separated by a space"); }
  { auto b = v; b.merges[0] = "Q zz";
    EXPECT_EQ(err(b), "m.gguf: merge 0 ('Q zz'): 'zz' is not in the vocabulary"); }
  { auto b = v; b.token_types.pop_back();
    EXPECT_EQ(err(b), "m.gguf: the vocabulary has 400 tokens but 399 token types"); }
  { auto b = v; b.token_types[5] = 9;
    EXPECT_EQ(err(b), "m.gguf: token 5 ('\xC4\x85') has unknown token type 9"); }
  { auto b = v; b.eos_id = 400;
    EXPECT_EQ(err(b), "m.gguf: EOS token id 400 out of range [0, 400)"); }
  { auto b = v; b.tokens.clear();
    EXPECT_EQ(err(b), "m.gguf: the vocabulary has no tokens"); }
  auto s = tessera::make_builtin_vocab(400, VocabSpec::Kind::Spm);
  { auto b = s; b.scores.resize(10);
    EXPECT_EQ(err(b), "m.gguf: the vocabulary has 400 tokens but 10 scores"); }
  { auto b = s; b.tokens[300] = "bad\xFF";
    EXPECT_EQ(err(b), "m.gguf: token 300: invalid UTF-8 at byte offset 3 (byte 0xFF)"); }
  auto tok = tessera::tokenizer_from_vocab(s, "m.gguf");
  EXPECT_EQ(error_of([&] { tok->encode("ok\xE2\x82", false); }), "input text: invalid UTF-8 at byte offset 2 (byte 0xE2)");
  EXPECT_EQ(error_of([&] { tok->decode({-1}); }), "m.gguf: token id -1 out of range [0, 400)");
}

TEST(LoadTokenizerFor, FindsOrExplains) {
  tessera::test::TempDir dir;
  tessera::Model m;
  m.source = dir.file("model.bin");
  m.format = "llama2c";
  m.config.vocab_size = 600;
  EXPECT_EQ(error_of([&] { tessera::load_tokenizer_for(m, std::nullopt); }),
            dir.file("model.bin") + ": no tokenizer found (looked for a vocabulary embedded in " +
                dir.file("model.bin") + ", " + dir.file("tokenizer.bin") + "); pass one with --tokenizer PATH");
  auto v = tessera::make_builtin_vocab(600, VocabSpec::Kind::Spm);
  tessera::write_llama2c_tokenizer(v, dir.file("tokenizer.bin"));
  EXPECT_EQ(tessera::load_tokenizer_for(m, std::nullopt)->vocab_size(), 600);
  tessera::write_tokenizer_json(v, dir.file("tok.json"));
  EXPECT_EQ(tessera::load_tokenizer_for(m, dir.file("tok.json"))->vocab_size(), 600);
  EXPECT_EQ(error_of([&] { tessera::load_tokenizer_for(m, dir.file("missing.json")); }),
            dir.file("missing.json") + ": tokenizer file not found");
  m.format = "hf";
  m.source = dir.path().string();
  EXPECT_EQ(error_of([&] { tessera::load_tokenizer_for(m, std::nullopt); }),
            m.source + ": no tokenizer found (looked for " + dir.file("tokenizer.json") +
                ", a vocabulary embedded in " + m.source + "); pass one with --tokenizer PATH");
  m.vocab = tessera::make_builtin_vocab(500, VocabSpec::Kind::Gpt2Bpe);
  EXPECT_EQ(tessera::load_tokenizer_for(m, std::nullopt)->vocab_size(), 500);
}

}  // namespace

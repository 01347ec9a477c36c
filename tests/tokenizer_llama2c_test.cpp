// llama2.c tokenizer.bin: ids pinned by tools/llama2c_tokenizer_ref.py (an independent
// re-implementation of run.c's encode), decode rules, and file diagnostics.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>

#include "core/error.h"
#include "test_util.h"
#include "tokenizer/llama2c_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tessera::Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::unique_ptr<tessera::Tokenizer> tok512() {
  auto p = tessera::test::shared_model("tok512.bin");
  if (!p) return nullptr;
  return tessera::load_llama2c_tokenizer(*p, 512);
}

TEST(Llama2cTokenizer, KnownIdsFromReferenceEncode) {
  auto tok = tok512();
  if (!tok) GTEST_SKIP() << "shared/models/tok512.bin not found (set TESSERA_SHARED_DIR)";
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->encode("Once upon a time", true), (std::vector<int>{1, 403, 407, 261, 378}));
  EXPECT_EQ(tok->encode("Lily loved the park.", true),
            (std::vector<int>{1, 317, 401, 396, 265, 282, 295, 433, 426}));
  EXPECT_EQ(tok->encode("Hi\nthere 😀 é", true),
            (std::vector<int>{1, 320, 417, 13, 413, 260, 276, 410, 243, 162, 155, 131, 410, 485}));
  EXPECT_EQ(tok->encode("  two  spaces", true),
            (std::vector<int>{1, 410, 410, 259, 424, 414, 410, 262, 427, 412, 331, 419}));
  EXPECT_EQ(tok->encode("a\\b", true), (std::vector<int>{1, 261, 500, 430}));
  EXPECT_EQ(tok->encode("", true), std::vector<int>{1});
  EXPECT_EQ(tok->encode("", false), std::vector<int>{});
  EXPECT_EQ(tok->encode("Once upon a time", false), (std::vector<int>{403, 407, 261, 378}));
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_ids(), std::vector<int>{2});
}

TEST(Llama2cTokenizer, DecodeRules) {
  auto tok = tok512();
  if (!tok) GTEST_SKIP() << "shared/models/tok512.bin not found";
  EXPECT_EQ(tok->decode({1, 403, 407, 261, 378}), "Once upon a time");
  EXPECT_EQ(tok->decode({403, 407}), "Once upon");  // first piece: dummy-prefix space dropped
  EXPECT_EQ(tok->decode({407}), "upon");
  EXPECT_EQ(tok->decode({1, 403, 2}, true), "\n<s>\nOnce\n</s>\n");  // llama2.c's export stores them so
  EXPECT_EQ(tok->decode({243, 162, 155, 131}), "\xF0\x9F\x98\x80");  // <0xF0><0x9F><0x98><0x80>
  std::mt19937 rng(7);
  const char* parts[] = {"a", "b", " ", "  ", "\n", "é", "日本", "😀", "The", " cat", "!", "0"};
  for (int i = 0; i < 300; ++i) {
    std::string s;
    for (int k = std::uniform_int_distribution<int>(0, 12)(rng); k > 0; --k)
      s += parts[std::uniform_int_distribution<int>(0, 11)(rng)];
    EXPECT_EQ(tok->decode(tok->encode(s, true)), s);
    EXPECT_EQ(tok->decode(tok->encode(s, false)), s);
  }
}

TEST(Llama2cTokenizer, StreamDecoderAfterPrompt) {
  auto tok = tok512();
  if (!tok) GTEST_SKIP() << "shared/models/tok512.bin not found";
  auto ids = tok->encode("Once upon a time 😀 there", true);
  tessera::StreamDecoder sd(*tok, {ids[0], ids[1]});
  std::string out, partial;
  for (size_t i = 2; i < ids.size(); ++i) {
    std::string piece = sd.push(ids[i]);
    if (piece == "\xF0") partial = piece;  // a byte token yields an incomplete UTF-8 prefix
    out += piece;
  }
  EXPECT_EQ(out, " upon a time 😀 there");
  EXPECT_EQ(partial, "\xF0");
}

std::string record(float score, const std::string& piece) {
  std::string r(8, '\0');
  int32_t len = int32_t(piece.size());
  std::memcpy(r.data(), &score, 4);
  std::memcpy(r.data() + 4, &len, 4);
  return r + piece;
}

std::string header(int32_t max_len) { return std::string(reinterpret_cast<const char*>(&max_len), 4); }

TEST(Llama2cTokenizer, FromBytesAndReadToEof) {
  std::string data = header(3) + record(0, "<unk>") + record(0, "<s>") + record(0, "</s>");
  auto t = tessera::llama2c_tokenizer_from_bytes(data, 0, "mem.bin");
  EXPECT_EQ(t->vocab_size(), 3);
  EXPECT_EQ(t->token_id("</s>"), 2);
}

TEST(Llama2cTokenizer, Diagnostics) {
  std::string good = header(3) + record(0, "<unk>") + record(0, "<s>");
  EXPECT_EQ(error_of([&] { tessera::llama2c_tokenizer_from_bytes("ab", 0, "t.bin"); }),
            "t.bin: too short for a llama2.c tokenizer (2 bytes; the header alone is 4)");
  EXPECT_EQ(error_of([&] { tessera::llama2c_tokenizer_from_bytes(good, 3, "t.bin"); }),
            "t.bin: the file ends after 2 tokens but the model's vocabulary has 3");
  EXPECT_EQ(error_of([&] { tessera::llama2c_tokenizer_from_bytes(good.substr(0, good.size() - 1), 0, "t.bin"); }),
            "t.bin: token 1: 3 bytes at byte offset 25 run past the end of the file (27 bytes)");
  EXPECT_EQ(error_of([&] { tessera::llama2c_tokenizer_from_bytes(good.substr(0, 19), 0, "t.bin"); }),
            "t.bin: token 1: score at byte offset 17 runs past the end of the file (19 bytes)");
  std::string neg = header(3) + record(0, "x");
  int32_t m = -4;
  std::memcpy(neg.data() + 8, &m, 4);
  EXPECT_EQ(error_of([&] { tessera::llama2c_tokenizer_from_bytes(neg, 0, "t.bin"); }),
            "t.bin: token 0: negative length -4 at byte offset 8");
  EXPECT_EQ(error_of([&] { tessera::llama2c_tokenizer_from_bytes(header(-1), 0, "t.bin"); }),
            "t.bin: negative max_token_length -1");
  EXPECT_EQ(error_of([&] { tessera::llama2c_tokenizer_from_bytes(header(1), 0, "t.bin"); }),
            "t.bin: the tokenizer has no tokens");
  EXPECT_EQ(error_of([&] { tessera::load_llama2c_tokenizer("/nonexistent/tokenizer.bin", 0); })
                .find("/nonexistent/tokenizer.bin"),
            0u);
  auto tiny = tessera::llama2c_tokenizer_from_bytes(good + record(0, "</s>") + record(0, " "), 0, "t.bin");
  EXPECT_EQ(error_of([&] { tiny->encode("z", false); }),
            "t.bin: no byte-fallback token for byte 0x7A (id 125 >= vocabulary size 4)");
  EXPECT_EQ(error_of([&] { tiny->encode("\xFF", false); }), "input text: invalid UTF-8 at byte offset 0 (byte 0xFF)");
  EXPECT_EQ(error_of([&] { tiny->decode({4}); }), "t.bin: token id 4 out of range [0, 4)");
}

}  // namespace

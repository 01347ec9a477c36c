// GGUF container parsing: files written by gguf-py (outside reference) parse to the
// values it wrote, every metadata type decodes, and each malformed-input diagnostic fires
// with its exact message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "gguf_test_builder.h"
#include "model/gguf_reader.h"
#include "test_util.h"

namespace tessera {
namespace {

using test::GgufBuilder;

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(TESSERA_SOURCE_DIR) + "/tests/data/gguf/" + name,
                   std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string parse_error(const std::string& bytes) {
  try {
    GgufFile::parse(bytes, "m.gguf");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(GgufReader, ReadsFileWrittenByGgufPy) {
  std::string bytes = read_fixture("tiny_llama.gguf");
  ASSERT_FALSE(bytes.empty());
  GgufFile f = GgufFile::parse(bytes, "tiny_llama.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_int("llama.embedding_length"), 16);
  EXPECT_EQ(f.find("llama.embedding_length")->type, GgufType::Uint32);
  EXPECT_FLOAT_EQ(f.get_float("llama.attention.layer_norm_rms_epsilon"), 1e-5f);
  auto tokens = f.get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 10u);
  EXPECT_EQ(tokens[3], "\xe2\x96\x81" "a");
  EXPECT_EQ(f.get_float_array("tokenizer.ggml.scores")[9], -6.f);
  EXPECT_EQ(f.get_int_array("tokenizer.ggml.token_type")[7], 6);
  ASSERT_EQ(f.tensors().size(), 11u);
  const GgufTensorInfo* q = f.find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->ne, (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(q->type, ggml::F32);
  EXPECT_EQ(q->nbytes, 16u * 16 * 4);
  EXPECT_EQ((q->data - reinterpret_cast<const uint8_t*>(bytes.data())) % 32, 0);
  const GgufTensorInfo* k = f.find_tensor("blk.0.attn_k.weight");
  EXPECT_EQ(k->shape(), (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(f.find_tensor("nope"), nullptr);
}

TEST(GgufReader, OpenMapsFileAndKeepsItAlive) {
  std::string path = std::string(TESSERA_SOURCE_DIR) + "/tests/data/gguf/tiny_qwen2.gguf";
  GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.name(), path);
  EXPECT_NE(f.owner(), nullptr);
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "qwen2");
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.merges").size(), 2u);
  EXPECT_EQ(f.get_bool("tokenizer.ggml.add_bos_token"), false);
}

TEST(GgufReader, AllValueTypes) {
  GgufBuilder b;
  using B = GgufBuilder;
  b.kv_raw("u8", 0, B::le<uint8_t>(200))
      .kv_raw("i8", 1, B::le<int8_t>(-100))
      .kv_raw("u16", 2, B::le<uint16_t>(60000))
      .kv_raw("i16", 3, B::le<int16_t>(-30000))
      .u32("u32", 4000000000u)
      .i32("i32", -2000000000)
      .f32("f32", 1.5f)
      .boolean("bool", true)
      .str("str", "hello")
      .kv_raw("u64", 10, B::le<uint64_t>(uint64_t(1) << 40))
      .kv_raw("i64", 11, B::le<int64_t>(-(int64_t(1) << 40)))
      .kv_raw("f64", 12, B::le<double>(0.125))
      .strs("strs", {"a", "", "ccc"})
      .kv_raw("u16s", 9, B::le<uint32_t>(2) + B::le<uint64_t>(2) + B::le<uint16_t>(7) +
                             B::le<uint16_t>(65535))
      .kv_raw("nested", 9,
              B::le<uint32_t>(9) + B::le<uint64_t>(2) +  // two arrays:
                  B::le<uint32_t>(4) + B::le<uint64_t>(1) + B::le<uint32_t>(42) +
                  B::le<uint32_t>(8) + B::le<uint64_t>(1) + B::gstr("x"));
  std::string bytes = b.build();
  GgufFile f = GgufFile::parse(bytes, "t.gguf");
  EXPECT_EQ(f.get_int("u8"), 200);
  EXPECT_EQ(f.get_int("i8"), -100);
  EXPECT_EQ(f.get_int("u16"), 60000);
  EXPECT_EQ(f.get_int("i16"), -30000);
  EXPECT_EQ(f.get_int("u32"), 4000000000LL);
  EXPECT_EQ(f.get_int("i32"), -2000000000);
  EXPECT_EQ(f.get_float("f32"), 1.5);
  EXPECT_TRUE(f.get_bool("bool"));
  EXPECT_EQ(f.get_string("str"), "hello");
  EXPECT_EQ(f.get_int("u64"), int64_t(1) << 40);
  EXPECT_EQ(f.get_int("i64"), -(int64_t(1) << 40));
  EXPECT_EQ(f.get_float("f64"), 0.125);
  EXPECT_EQ(f.get_string_array("strs"), (std::vector<std::string_view>{"a", "", "ccc"}));
  EXPECT_EQ(f.get_int_array("u16s"), (std::vector<int64_t>{7, 65535}));
  const GgufValue* n = f.find("nested");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->type_str(), "array[array]");
  ASSERT_EQ(n->items.size(), 2u);
  EXPECT_EQ(n->items[0].type_str(), "array[uint32]");
  EXPECT_EQ(n->items[0].count, 1u);
  EXPECT_EQ(n->items[1].strings, (std::vector<std::string_view>{"x"}));
  EXPECT_FALSE(f.opt_int("absent").has_value());
  EXPECT_EQ(f.tensors().size(), 0u);
}

TEST(GgufReader, TypedAccessErrors) {
  GgufBuilder b;
  b.str("s", "x").u32("n", 3).f32s("fa", {1.f}).kv_raw("big", 10, GgufBuilder::le(~uint64_t(0)));
  std::string bytes = b.build();
  GgufFile f = GgufFile::parse(bytes, "t.gguf");
  auto err = [&](auto fn) -> std::string {
    try {
      fn();
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(err([&] { f.get_int("s"); }),
            "t.gguf: metadata key 's' has type string, expected an integer");
  EXPECT_EQ(err([&] { f.get_string("n"); }),
            "t.gguf: metadata key 'n' has type uint32, expected string");
  EXPECT_EQ(err([&] { f.get_float("n"); }),
            "t.gguf: metadata key 'n' has type uint32, expected float32 or float64");
  EXPECT_EQ(err([&] { f.get_bool("s"); }), "t.gguf: metadata key 's' has type string, expected bool");
  EXPECT_EQ(err([&] { f.get_string_array("fa"); }),
            "t.gguf: metadata key 'fa' has type array[float32], expected array[string]");
  EXPECT_EQ(err([&] { f.get_int_array("fa"); }),
            "t.gguf: metadata key 'fa' has type array[float32], expected array[int32]");
  EXPECT_EQ(err([&] { f.get_float_array("s"); }),
            "t.gguf: metadata key 's' has type string, expected array[float32]");
  EXPECT_EQ(err([&] { f.get_int("missing"); }), "t.gguf: missing metadata key 'missing'");
  EXPECT_EQ(err([&] { f.opt_string("n"); }),
            "t.gguf: metadata key 'n' has type uint32, expected string");
  EXPECT_EQ(err([&] { f.get_int("big"); }),
            "t.gguf: metadata key 'big' value 18446744073709551615 is out of range");
}

TEST(GgufReader, HeaderErrors) {
  EXPECT_EQ(parse_error("GGU"), "m.gguf: not a GGUF file (missing 'GGUF' magic)");
  EXPECT_EQ(parse_error("GGML" + GgufBuilder::le<uint32_t>(3)),
            "m.gguf: not a GGUF file (missing 'GGUF' magic)");
  GgufBuilder b;
  b.version = 1;
  EXPECT_EQ(parse_error(b.build()),
            "m.gguf: GGUF version 1 is not supported (only versions 2 and 3; re-convert the "
            "model with a current llama.cpp)");
  b.version = 4;
  EXPECT_EQ(parse_error(b.build()), "m.gguf: unsupported GGUF version 4 (supported: 2, 3)");
  b.version = 0x03000000;
  EXPECT_EQ(parse_error(b.build()), "m.gguf: big-endian GGUF (version 3) is not supported");
  b.version = 2;
  EXPECT_EQ(GgufFile::parse(b.build(), "m.gguf").version(), 2u);
  EXPECT_EQ(parse_error("GGUF" + GgufBuilder::le<uint32_t>(3) + GgufBuilder::le<uint64_t>(0)),
            "m.gguf: truncated: metadata count needs 8 bytes at offset 16, but the file has "
            "only 0 left");
}

TEST(GgufReader, LyingCountsDoNotAllocate) {
  using B = GgufBuilder;
  std::string head = "GGUF" + B::le<uint32_t>(3);
  EXPECT_EQ(parse_error(head + B::le<uint64_t>(0) + B::le<uint64_t>(uint64_t(1) << 60)),
            "m.gguf: header claims 1152921504606846976 metadata entries, more than the 0 "
            "remaining bytes can hold");
  EXPECT_EQ(parse_error(head + B::le<uint64_t>(~uint64_t(0)) + B::le<uint64_t>(0)),
            "m.gguf: header claims 18446744073709551615 tensors, more than the 0 remaining "
            "bytes can hold");
  GgufBuilder b;
  b.kv_raw("arr", 9, B::le<uint32_t>(6) + B::le<uint64_t>(uint64_t(1) << 62));
  EXPECT_EQ(parse_error(b.build()),
            "m.gguf: metadata key 'arr': array of 4611686018427387904 float32 elements needs "
            "more bytes than the 13 left in the file");
  b.kv_raw("arr", 9, B::le<uint32_t>(8) + B::le<uint64_t>(uint64_t(1) << 62));
  EXPECT_EQ(parse_error(b.build()),
            "m.gguf: metadata key 'arr': array of 4611686018427387904 strings cannot fit in "
            "the 13 bytes left in the file");
  b.kv_raw("arr", 9, B::le<uint32_t>(9) + B::le<uint64_t>(uint64_t(1) << 62));
  EXPECT_EQ(parse_error(b.build()),
            "m.gguf: metadata key 'arr': array of 4611686018427387904 arrays cannot fit in "
            "the 13 bytes left in the file");
  b.kv_raw("arr", 8, B::le<uint64_t>(~uint64_t(0)));
  EXPECT_EQ(parse_error(b.build()),
            "m.gguf: truncated: metadata key 'arr' needs 18446744073709551615 bytes at offset "
            "47, but the file has only 17 left");
}

TEST(GgufReader, MetadataErrors) {
  using B = GgufBuilder;
  GgufBuilder b;
  b.kv_raw("k", 13, "");
  EXPECT_EQ(parse_error(b.build()), "m.gguf: metadata key 'k' has unknown value type 13");
  b.kv_raw("k", 9, B::le<uint32_t>(77) + B::le<uint64_t>(0));
  EXPECT_EQ(parse_error(b.build()), "m.gguf: metadata key 'k' is an array of unknown value type 77");
  b.kv_raw("k", 7, B::le<uint8_t>(2));
  EXPECT_EQ(parse_error(b.build()), "m.gguf: metadata key 'k' is a bool with invalid byte value 2");
  std::string nest = B::le<uint32_t>(4) + B::le<uint64_t>(0);
  for (int d = 0; d < 10; ++d) nest = B::le<uint32_t>(9) + B::le<uint64_t>(1) + nest;
  b.kv_raw("k", 9, nest);
  EXPECT_EQ(parse_error(b.build()),
            "m.gguf: metadata key 'k'[0][0][0][0][0][0][0][0]: arrays nested deeper than 8 "
            "levels");
  b.u32("k", 1);
  // Duplicate key: patch the kv count and append a second copy of the entry.
  GgufBuilder d;
  d.u32("a", 1).u32("b", 2);
  std::string s = d.build();
  size_t pos = s.find("b");
  s[pos] = 'a';
  EXPECT_EQ(parse_error(s), "m.gguf: duplicate metadata key 'a'");
  b.u32("general.alignment", 48);
  EXPECT_EQ(parse_error(b.build()), "m.gguf: general.alignment must be a power of two, got 48");
  b.str("general.alignment", "x");
  EXPECT_EQ(parse_error(b.build()),
            "m.gguf: metadata key 'general.alignment' has type string, expected an integer");
}

TEST(GgufReader, TensorInfoErrors) {
  std::string four(16, '\0');
  auto with = [&](std::vector<uint64_t> ne, uint32_t type, std::string data, int64_t off = -1) {
    GgufBuilder b;
    b.tensor("t", std::move(ne), type, std::move(data), off);
    return parse_error(b.build());
  };
  EXPECT_EQ(with({4, 1, 1, 1, 1}, 0, four), "m.gguf: tensor 't' has 5 dimensions (must be 1 to 4)");
  EXPECT_EQ(with({4, 0}, 0, four), "m.gguf: tensor 't' has invalid dimension 1 = 0");
  EXPECT_EQ(with({uint64_t(1) << 40, uint64_t(1) << 40}, 0, four),
            "m.gguf: tensor 't' has too many elements (shape overflows 64 bits)");
  EXPECT_EQ(with({4}, 99, four), "m.gguf: tensor 't' has unknown ggml type 99");
  EXPECT_EQ(with({4}, 4, four),
            "m.gguf: tensor 't' has ggml type 4 (Q4_2), which ggml no longer supports");
  EXPECT_EQ(with({16}, 2, four),
            "m.gguf: tensor 't' of type Q4_0 has a row of 16 elements, not a multiple of the "
            "block size 32");
  EXPECT_EQ(with({4}, 0, four, 8),
            "m.gguf: tensor 't' has data offset 8, not a multiple of the alignment 32");
  EXPECT_EQ(with({4}, 0, four, 64),
            "m.gguf: tensor 't': data [offset 128, 16 bytes] runs past the end of the file (80 "
            "bytes)");
  EXPECT_EQ(with({8}, 0, four),
            "m.gguf: tensor 't': data [offset 64, 32 bytes] runs past the end of the file (80 "
            "bytes)");
  EXPECT_EQ(with({4}, 0, four, int64_t(1) << 62),
            "m.gguf: tensor 't': data [offset 4611686018427387904, 16 bytes] runs past the end "
            "of the file (80 bytes)");
  GgufBuilder dup;
  dup.tensor("t", {4}, 0, four).tensor("t", {4}, 0, four);
  EXPECT_EQ(parse_error(dup.build()), "m.gguf: duplicate tensor name 't'");
  GgufBuilder overlap;
  overlap.tensor("a", {8}, 0, std::string(32, '\0')).tensor("b", {4}, 0, four, 0);
  EXPECT_EQ(parse_error(overlap.build()), "m.gguf: tensors 'a' and 'b' overlap in the data section");
  // A name long enough that the tensor-count bound passes and the cut hits n_dims.
  const std::string name(40, 'n');
  GgufBuilder trunc;
  trunc.tensor(name, {4}, 0, four);
  std::string s = trunc.build();
  EXPECT_EQ(parse_error(s.substr(0, 24 + 8 + 40 + 2)),
            "m.gguf: truncated: tensor '" + name +
                "' (n_dims) needs 4 bytes at offset 72, but the file has only 2 left");
}

TEST(GgufReader, CustomAlignment) {
  GgufBuilder b;
  b.alignment = 64;
  b.u32("general.alignment", 64).tensor("a", {3}, 0, std::string(12, 'x')).tensor("b", {2}, 0,
                                                                                 "yyyyzzzz");
  std::string bytes = b.build();
  GgufFile f = GgufFile::parse(bytes, "a.gguf");
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.find_tensor("b")->offset, 64u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.find_tensor("b")->data), 8), "yyyyzzzz");
}

// Every prefix of a valid file must be rejected with tessera::Error, never crash.
TEST(GgufReader, EveryTruncationIsAnError) {
  std::string bytes = read_fixture("tiny_qwen2.gguf");
  ASSERT_FALSE(bytes.empty());
  size_t data_start = GgufFile::parse(bytes, "x").data_offset();
  for (size_t n = 0; n < bytes.size(); ++n) {
    bool threw = false;
    try {
      GgufFile::parse(std::string_view(bytes).substr(0, n), "x");
    } catch (const Error&) {
      threw = true;
    }
    // Cutting only trailing padding of the last tensor can still leave a valid file.
    if (n < data_start) EXPECT_TRUE(threw) << "prefix of " << n << " bytes parsed";
  }
}

TEST(GgufReader, TypeNames) {
  EXPECT_EQ(ggml_type_name(ggml::Q4_K), "Q4_K");
  EXPECT_EQ(ggml_type_name(16), "IQ2_XXS");
  EXPECT_EQ(ggml_type_name(30), "BF16");
  EXPECT_EQ(ggml_type_name(1000), "type 1000");
  EXPECT_EQ(ggml_type_info(ggml::Q6_K)->type_size, 210);
}

}  // namespace
}  // namespace tessera

// safetensors reader: values from a file written by the reference implementation
// (tools/make_hf_fixtures.py), and one negative test per diagnostic on hand-built images.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "model/safetensors.h"
#include "test_util.h"

using namespace tessera;

namespace {

std::string fixture(const std::string& name) {
  return std::string(TESSERA_SOURCE_DIR) + "/tests/data/hf/" + name;
}

// 8-byte little-endian length, header text, data.
std::vector<uint8_t> image(const std::string& header, const std::vector<uint8_t>& data = {}) {
  std::vector<uint8_t> out(8);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(n >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string error_of(const std::vector<uint8_t>& bytes) {
  try {
    read_safetensors(bytes, "t.safetensors", nullptr);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<uint8_t> floats(std::initializer_list<float> v) {
  std::vector<uint8_t> out(v.size() * 4);
  std::memcpy(out.data(), v.begin(), out.size());
  return out;
}

}  // namespace

TEST(SafetensorsRead, ReadsReferenceWrittenFile) {
  auto t = load_safetensors(fixture("tiny.safetensors"));
  ASSERT_EQ(t.size(), 3u);
  const Tensor& a = t.at("a");
  EXPECT_EQ(a.dtype, DType::F32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(a.at(i), 0.5f * i);
  const Tensor& b = t.at("b");
  EXPECT_EQ(b.dtype, DType::F16);
  EXPECT_EQ(b.to_f32(), (std::vector<float>{1.5f, -2.f, 65504.f}));
  EXPECT_EQ(t.at("empty").shape, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(t.at("empty").numel(), 0);
  EXPECT_NE(a.owner, nullptr);  // zero-copy view keeps the mapping alive
  auto bytes = std::ifstream(fixture("tiny.safetensors"), std::ios::binary);
  std::vector<uint8_t> raw((std::istreambuf_iterator<char>(bytes)), {});
  auto h = parse_safetensors_header(raw, "tiny");
  EXPECT_EQ(h.metadata.at("note"), "fixture");
}

TEST(SafetensorsRead, Bf16AndMisalignedData) {
  // A 3-byte header pad leaves the data at an odd offset: the reader must copy, not view.
  std::string hdr = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  hdr += "   ";
  ASSERT_NE((8 + hdr.size()) % 4, 0u);
  auto img = image(hdr, floats({1.25f, -3.f}));
  auto t = read_safetensors(img, "t", nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.at("x").data) % 4, 0u);
  EXPECT_EQ(t.at("x").to_f32(), (std::vector<float>{1.25f, -3.f}));

  std::vector<uint8_t> bf = {0x80, 0x3f, 0x00, 0xc0};  // 1.0, -2.0
  auto t2 = read_safetensors(image(R"({"y":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})", bf),
                             "t", nullptr);
  EXPECT_EQ(t2.at("y").to_f32(), (std::vector<float>{1.f, -2.f}));
}

TEST(SafetensorsRead, Errors) {
  EXPECT_EQ(error_of({1, 2, 3}), "t.safetensors: file is 3 bytes, too short for the 8-byte header length");
  auto past = image("{}");
  past[0] = 200;
  EXPECT_EQ(error_of(past), "t.safetensors: header length 200 runs past the end of the file (10 bytes)");
  EXPECT_NE(error_of(image("{\"a\":")).find("t.safetensors: header is not valid JSON"), std::string::npos);
  EXPECT_EQ(error_of(image("[1]")), "t.safetensors: header must be a JSON object");
  EXPECT_EQ(error_of(image(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                           R"("x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                           floats({1}))),
            "t.safetensors: header has duplicate key 'x'");
  EXPECT_EQ(error_of(image(R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", floats({1, 2}))),
            "t.safetensors: tensor 'w': dtype F64 is not supported (supported: F32, F16, BF16)");
  EXPECT_EQ(error_of(image(R"({"w":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}})", floats({1}))),
            "t.safetensors: tensor 'w': dtype I8 is not supported (supported: F32, F16, BF16)");
  EXPECT_EQ(error_of(image(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", floats({1}))),
            "t.safetensors: tensor 'w': missing string 'dtype'");
  EXPECT_EQ(error_of(image(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", floats({1}))),
            "t.safetensors: tensor 'w': missing array 'shape'");
  EXPECT_EQ(error_of(image(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", floats({1}))),
            "t.safetensors: tensor 'w': shape entries must be non-negative integers, got -1");
  EXPECT_EQ(error_of(image(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})",
                           floats({1}))),
            "t.safetensors: tensor 'w': shape [4294967296,4294967296] has too many elements");
  EXPECT_EQ(error_of(image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", floats({1}))),
            "t.safetensors: tensor 'w': 'data_offsets' must be [begin, end] of non-negative integers");
  EXPECT_EQ(error_of(image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", floats({1}))),
            "t.safetensors: tensor 'w': data_offsets [4, 0] end before they begin");
  EXPECT_EQ(error_of(image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", floats({1}))),
            "t.safetensors: tensor 'w': data [4, 8) runs past the end of the data section (4 bytes)");
  EXPECT_EQ(error_of(image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", floats({1}))),
            "t.safetensors: tensor 'w': data_offsets [0, 4) hold 4 bytes, but F32 [2] needs 8");
  EXPECT_EQ(error_of(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                           floats({1, 2, 3}))),
            "t.safetensors: tensors 'a' and 'b' overlap in the data section");
  EXPECT_EQ(error_of(image(R"({"w":[1]})")), "t.safetensors: tensor 'w': entry must be an object");
  EXPECT_EQ(error_of(image(R"({"__metadata__":{"k":1}})")),
            "t.safetensors: '__metadata__' value 'k' must be a string");
  EXPECT_EQ(error_of(image(R"({"__metadata__":[]})")),
            "t.safetensors: '__metadata__' must be an object of strings");
}

TEST(SafetensorsRead, MissingFileNamesPath) {
  try {
    load_safetensors("/nonexistent/x.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.safetensors: cannot open"), std::string::npos);
  }
}

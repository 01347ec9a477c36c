// GGUF container parsing (v2 and v3, little-endian): metadata key/values and tensor
// infos. The parser works on a byte span plus a name for messages, so the fuzz target and
// tests need no files; GgufFile::open memory-maps a path and keeps the mapping alive as
// the owner of every tensor view. Everything read from the file is bounded by the bytes
// actually present before anything is allocated, because a GGUF header is untrusted
// input: a lying count must produce an error, not a multi-gigabyte allocation.
//
// Metadata strings and arrays are kept as views into the bytes (a 49k-token vocabulary
// is parsed without copying it); they stay valid as long as the bytes do.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {

// GGUF metadata value types (the numbers are the file's).
enum class GgufType : uint32_t {
  Uint8 = 0, Int8 = 1, Uint16 = 2, Int16 = 3, Uint32 = 4, Int32 = 5, Float32 = 6,
  Bool = 7, String = 8, Array = 9, Uint64 = 10, Int64 = 11, Float64 = 12,
};
std::string_view gguf_type_name(GgufType t);  // "uint32", "string", ...

// ggml tensor element types (the numbers are ggml's).
namespace ggml {
enum : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15, BF16 = 30,
};
}

struct GgmlTypeInfo {
  uint32_t id;
  const char* name;
  int64_t block_size;  // elements per block (1 for plain types)
  int64_t type_size;   // bytes per block; 0: known name but no storable layout (removed)
};
// nullptr for numbers ggml never assigned.
const GgmlTypeInfo* ggml_type_info(uint32_t type);
std::string ggml_type_name(uint32_t type);  // "Q4_K", or "type 99" when unknown

struct GgufValue {
  GgufType type = GgufType::Uint8;
  // Scalars: integers in i (signed types) or u (unsigned and bool), floats in f.
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  std::string_view str;  // String
  // Array: element type and count. Numeric elements are left as raw little-endian bytes
  // (count * size); strings and nested arrays are parsed into their own vectors.
  GgufType elem_type = GgufType::Uint8;
  uint64_t count = 0;
  std::string_view raw;
  std::vector<std::string_view> strings;
  std::vector<GgufValue> items;

  bool is_integer() const;
  bool is_float() const { return type == GgufType::Float32 || type == GgufType::Float64; }
  std::string type_str() const;  // "uint32", "array[string]", ...
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // ggml order: innermost (contiguous) dimension first
  uint32_t type = 0;        // ggml type number
  uint64_t offset = 0;      // relative to the data section
  uint64_t nbytes = 0;
  int64_t numel = 0;
  const uint8_t* data = nullptr;  // into the parsed bytes

  // PyTorch order: ne reversed.
  std::vector<int64_t> shape() const { return {ne.rbegin(), ne.rend()}; }
};

class GgufFile {
 public:
  // Parses a whole GGUF image. `name` prefixes every error message. `owner` (may be null)
  // keeps `bytes` alive; tensor views made from this file share it.
  static GgufFile parse(std::string_view bytes, std::string name,
                        std::shared_ptr<const void> owner = nullptr);
  // Memory-maps path and parses it; the mapping lives as long as any owner() copy.
  static GgufFile open(const std::string& path);

  const std::string& name() const { return name_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  const std::shared_ptr<const void>& owner() const { return owner_; }

  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed access. get_* throw tessera::Error naming the file and key when the key is
  // absent or has another type; opt_* return nullopt when absent (and still throw on a
  // type mismatch). Integers of any width and signedness are accepted where they fit.
  std::string get_string(std::string_view key) const;
  std::optional<std::string> opt_string(std::string_view key) const;
  int64_t get_int(std::string_view key) const;
  std::optional<int64_t> opt_int(std::string_view key) const;
  double get_float(std::string_view key) const;  // float32/float64
  std::optional<double> opt_float(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  std::optional<bool> opt_bool(std::string_view key) const;
  std::vector<std::string_view> get_string_array(std::string_view key) const;
  std::vector<float> get_float_array(std::string_view key) const;  // float32 elements
  std::vector<int64_t> get_int_array(std::string_view key) const;  // any integer elements

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;

 private:
  const GgufValue& require(std::string_view key) const;
  [[noreturn]] void type_error(std::string_view key, const GgufValue& v,
                               std::string_view expected) const;

  std::string name_;
  std::shared_ptr<const void> owner_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, GgufValue, std::less<>> kv_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace tessera

// GGUF parsing with a bounds-checked cursor. Every count read from the file is compared
// with the bytes left before anything is reserved (an element needs at least its minimum
// encoded size), and every offset/size sum is checked for overflow, so malformed input
// always ends in a tessera::Error naming the file and the field.
#include "model/gguf_reader.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/mapped_file.h"

namespace tessera {

namespace {

constexpr GgmlTypeInfo kTypes[] = {
    {0, "F32", 1, 4},        {1, "F16", 1, 2},        {2, "Q4_0", 32, 18},
    {3, "Q4_1", 32, 20},     {4, "Q4_2", 0, 0},       {5, "Q4_3", 0, 0},
    {6, "Q5_0", 32, 22},     {7, "Q5_1", 32, 24},     {8, "Q8_0", 32, 34},
    {9, "Q8_1", 32, 36},     {10, "Q2_K", 256, 84},   {11, "Q3_K", 256, 110},
    {12, "Q4_K", 256, 144},  {13, "Q5_K", 256, 176},  {14, "Q6_K", 256, 210},
    {15, "Q8_K", 256, 292},  {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50}, {20, "IQ4_NL", 32, 18},
    {21, "IQ3_S", 256, 110}, {22, "IQ2_S", 256, 82},  {23, "IQ4_XS", 256, 136},
    {24, "I8", 1, 1},        {25, "I16", 1, 2},       {26, "I32", 1, 4},
    {27, "I64", 1, 8},       {28, "F64", 1, 8},       {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2},      {31, "Q4_0_4_4", 0, 0},  {32, "Q4_0_4_8", 0, 0},
    {33, "Q4_0_8_8", 0, 0},  {34, "TQ1_0", 256, 54},  {35, "TQ2_0", 256, 66},
    {36, "IQ4_NL_4_4", 0, 0}, {37, "IQ4_NL_4_8", 0, 0}, {38, "IQ4_NL_8_8", 0, 0},
    {39, "MXFP4", 32, 17},   {40, "NVFP4", 64, 36},   {41, "Q1_0", 128, 18},
};

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::Uint8: case GgufType::Int8: case GgufType::Bool: return 1;
    case GgufType::Uint16: case GgufType::Int16: return 2;
    case GgufType::Uint32: case GgufType::Int32: case GgufType::Float32: return 4;
    case GgufType::Uint64: case GgufType::Int64: case GgufType::Float64: return 8;
    default: return 0;  // string, array
  }
}

constexpr int kMaxArrayDepth = 8;

class Cursor {
 public:
  Cursor(std::string_view bytes, const std::string& name)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())), size_(bytes.size()), name_(name) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  void need(uint64_t n, const std::string& what) const {
    if (n > remaining())
      fail("{}: truncated: {} needs {} bytes at offset {}, but the file has only {} left",
           name_, what, n, pos_, remaining());
  }
  template <typename T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string_view bytes(uint64_t n, const std::string& what) {
    need(n, what);
    std::string_view s(reinterpret_cast<const char*>(p_ + pos_), size_t(n));
    pos_ += size_t(n);
    return s;
  }
  std::string_view string(const std::string& what) {
    uint64_t len = read<uint64_t>(what + " (string length)");
    return bytes(len, what);
  }

 private:
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& name_;
};

GgufValue read_value(Cursor& c, GgufType t, const std::string& what, int depth,
                     const std::string& file) {
  GgufValue v;
  v.type = t;
  switch (t) {
    case GgufType::Uint8: v.u = c.read<uint8_t>(what); break;
    case GgufType::Int8: v.i = c.read<int8_t>(what); break;
    case GgufType::Uint16: v.u = c.read<uint16_t>(what); break;
    case GgufType::Int16: v.i = c.read<int16_t>(what); break;
    case GgufType::Uint32: v.u = c.read<uint32_t>(what); break;
    case GgufType::Int32: v.i = c.read<int32_t>(what); break;
    case GgufType::Uint64: v.u = c.read<uint64_t>(what); break;
    case GgufType::Int64: v.i = c.read<int64_t>(what); break;
    case GgufType::Float32: v.f = c.read<float>(what); break;
    case GgufType::Float64: v.f = c.read<double>(what); break;
    case GgufType::Bool: {
      uint8_t b = c.read<uint8_t>(what);
      if (b > 1) fail("{}: {} is a bool with invalid byte value {}", file, what, b);
      v.u = b;
      break;
    }
    case GgufType::String: v.str = c.string(what); break;
    case GgufType::Array: {
      uint32_t et = c.read<uint32_t>(what + " (array element type)");
      if (et > uint32_t(GgufType::Float64))
        fail("{}: {} is an array of unknown value type {}", file, what, et);
      v.elem_type = GgufType(et);
      v.count = c.read<uint64_t>(what + " (array length)");
      if (size_t es = scalar_size(v.elem_type)) {
        if (v.count > c.remaining() / es)
          fail("{}: {}: array of {} {} elements needs more bytes than the {} left in the file",
               file, what, v.count, gguf_type_name(v.elem_type), c.remaining());
        v.raw = c.bytes(v.count * es, what);
      } else if (v.elem_type == GgufType::String) {
        if (v.count > c.remaining() / 8)
          fail("{}: {}: array of {} strings cannot fit in the {} bytes left in the file", file,
               what, v.count, c.remaining());
        v.strings.reserve(size_t(v.count));
        for (uint64_t k = 0; k < v.count; ++k)
          v.strings.push_back(c.string(fmt::format("{} element {}", what, k)));
      } else {  // nested arrays
        if (depth >= kMaxArrayDepth)
          fail("{}: {}: arrays nested deeper than {} levels", file, what, kMaxArrayDepth);
        if (v.count > c.remaining() / 12)
          fail("{}: {}: array of {} arrays cannot fit in the {} bytes left in the file", file,
               what, v.count, c.remaining());
        v.items.reserve(size_t(v.count));
        for (uint64_t k = 0; k < v.count; ++k)
          v.items.push_back(read_value(c, GgufType::Array, fmt::format("{}[{}]", what, k),
                                       depth + 1, file));
      }
      break;
    }
    default: fail("{}: {} has unknown value type {}", file, what, uint32_t(t));
  }
  return v;
}

template <typename T>
T load_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

std::string_view gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::Uint8: return "uint8";
    case GgufType::Int8: return "int8";
    case GgufType::Uint16: return "uint16";
    case GgufType::Int16: return "int16";
    case GgufType::Uint32: return "uint32";
    case GgufType::Int32: return "int32";
    case GgufType::Float32: return "float32";
    case GgufType::Bool: return "bool";
    case GgufType::String: return "string";
    case GgufType::Array: return "array";
    case GgufType::Uint64: return "uint64";
    case GgufType::Int64: return "int64";
    case GgufType::Float64: return "float64";
  }
  return "?";
}

const GgmlTypeInfo* ggml_type_info(uint32_t type) {
  for (const auto& t : kTypes)
    if (t.id == type) return &t;
  return nullptr;
}

std::string ggml_type_name(uint32_t type) {
  if (auto* t = ggml_type_info(type)) return t->name;
  return fmt::format("type {}", type);
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::Uint8: case GgufType::Int8: case GgufType::Uint16: case GgufType::Int16:
    case GgufType::Uint32: case GgufType::Int32: case GgufType::Uint64: case GgufType::Int64:
      return true;
    default: return false;
  }
}

std::string GgufValue::type_str() const {
  if (type != GgufType::Array) return std::string(gguf_type_name(type));
  return fmt::format("array[{}]", gguf_type_name(elem_type));
}

GgufFile GgufFile::parse(std::string_view bytes, std::string name,
                         std::shared_ptr<const void> owner) {
  GgufFile g;
  g.name_ = std::move(name);
  g.owner_ = std::move(owner);
  const std::string& file = g.name_;
  Cursor c(bytes, file);

  if (bytes.size() < 4 || bytes.substr(0, 4) != "GGUF")
    fail("{}: not a GGUF file (missing 'GGUF' magic)", file);
  c.bytes(4, "magic");
  uint32_t version = c.read<uint32_t>("version");
  if (version == 1)
    fail("{}: GGUF version 1 is not supported (only versions 2 and 3; re-convert the model "
         "with a current llama.cpp)",
         file);
  if (version != 2 && version != 3) {
    uint32_t swapped = __builtin_bswap32(version);
    if (swapped == 2 || swapped == 3)
      fail("{}: big-endian GGUF (version {}) is not supported", file, swapped);
    fail("{}: unsupported GGUF version {} (supported: 2, 3)", file, version);
  }
  g.version_ = version;
  uint64_t n_tensors = c.read<uint64_t>("tensor count");
  uint64_t n_kv = c.read<uint64_t>("metadata count");
  // Minimum encodings: a key/value is 8 (key length) + 4 (type) + 1 bytes; a tensor info
  // is 8 (name length) + 4 (n_dims) + 8 (one dim) + 4 (type) + 8 (offset) bytes.
  if (n_kv > c.remaining() / 13)
    fail("{}: header claims {} metadata entries, more than the {} remaining bytes can hold",
         file, n_kv, c.remaining());
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key(c.string(fmt::format("metadata entry {} key", k)));
    std::string what = fmt::format("metadata key '{}'", key);
    uint32_t t = c.read<uint32_t>(what + " (value type)");
    if (t > uint32_t(GgufType::Float64))
      fail("{}: {} has unknown value type {}", file, what, t);
    GgufValue v = read_value(c, GgufType(t), what, 0, file);
    if (g.kv_.count(key)) fail("{}: duplicate metadata key '{}'", file, key);
    g.kv_.emplace(std::move(key), std::move(v));
  }

  if (auto a = g.opt_int("general.alignment")) {
    if (*a <= 0 || *a > (int64_t(1) << 30) || (*a & (*a - 1)) != 0)
      fail("{}: general.alignment must be a power of two, got {}", file, *a);
    g.alignment_ = uint64_t(*a);
  }

  if (n_tensors > c.remaining() / 32)
    fail("{}: header claims {} tensors, more than the {} remaining bytes can hold", file,
         n_tensors, c.remaining());
  g.tensors_.reserve(size_t(n_tensors));
  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensorInfo ti;
    ti.name = std::string(c.string(fmt::format("tensor info {} name", k)));
    std::string what = fmt::format("tensor '{}'", ti.name);
    uint32_t n_dims = c.read<uint32_t>(what + " (n_dims)");
    if (n_dims < 1 || n_dims > 4)
      fail("{}: {} has {} dimensions (must be 1 to 4)", file, what, n_dims);
    int64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = c.read<uint64_t>(what + " (shape)");
      if (ne == 0 || ne > uint64_t(std::numeric_limits<int64_t>::max()))
        fail("{}: {} has invalid dimension {} = {}", file, what, d, ne);
      if (int64_t(ne) > std::numeric_limits<int64_t>::max() / numel)
        fail("{}: {} has too many elements (shape overflows 64 bits)", file, what);
      numel *= int64_t(ne);
      ti.ne.push_back(int64_t(ne));
    }
    ti.numel = numel;
    ti.type = c.read<uint32_t>(what + " (type)");
    const GgmlTypeInfo* info = ggml_type_info(ti.type);
    if (!info) fail("{}: {} has unknown ggml type {}", file, what, ti.type);
    if (info->type_size == 0)
      fail("{}: {} has ggml type {} ({}), which ggml no longer supports", file, what,
           ti.type, info->name);
    if (ti.ne[0] % info->block_size != 0)
      fail("{}: {} of type {} has a row of {} elements, not a multiple of the block size {}",
           file, what, info->name, ti.ne[0], info->block_size);
    int64_t blocks = numel / info->block_size;
    if (blocks > std::numeric_limits<int64_t>::max() / info->type_size)
      fail("{}: {} is too large (byte size overflows 64 bits)", file, what);
    ti.nbytes = uint64_t(blocks * info->type_size);
    ti.offset = c.read<uint64_t>(what + " (data offset)");
    if (ti.offset % g.alignment_ != 0)
      fail("{}: {} has data offset {}, not a multiple of the alignment {}", file, what,
           ti.offset, g.alignment_);
    if (g.tensor_index_.count(ti.name)) fail("{}: duplicate tensor name '{}'", file, ti.name);
    g.tensor_index_.emplace(ti.name, g.tensors_.size());
    g.tensors_.push_back(std::move(ti));
  }

  uint64_t pos = c.pos();
  g.data_offset_ = pos + (g.alignment_ - pos % g.alignment_) % g.alignment_;
  const uint64_t size = bytes.size();
  for (auto& ti : g.tensors_) {
    uint64_t start = g.data_offset_ + ti.offset;  // data_offset_ <= size + alignment
    if (ti.offset > size || start > size || ti.nbytes > size - start)
      fail("{}: tensor '{}': data [offset {}, {} bytes] runs past the end of the file ({} "
           "bytes)",
           file, ti.name, ti.offset > size ? ti.offset : start, ti.nbytes, size);
    ti.data = reinterpret_cast<const uint8_t*>(bytes.data()) + start;
  }
  std::vector<const GgufTensorInfo*> by_offset;
  for (const auto& ti : g.tensors_) by_offset.push_back(&ti);
  std::sort(by_offset.begin(), by_offset.end(),
            [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t k = 1; k < by_offset.size(); ++k) {
    const auto* prev = by_offset[k - 1];
    if (by_offset[k]->offset < prev->offset + prev->nbytes)
      fail("{}: tensors '{}' and '{}' overlap in the data section", file, prev->name,
           by_offset[k]->name);
  }
  return g;
}

GgufFile GgufFile::open(const std::string& path) {
  auto mf = MappedFile::open(path);
  std::string_view bytes = mf->bytes();
  return parse(bytes, path, mf);
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufValue& GgufFile::require(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail("{}: missing metadata key '{}'", name_, key);
  return *v;
}

void GgufFile::type_error(std::string_view key, const GgufValue& v,
                          std::string_view expected) const {
  fail("{}: metadata key '{}' has type {}, expected {}", name_, key, v.type_str(), expected);
}

std::string GgufFile::get_string(std::string_view key) const {
  const GgufValue& v = require(key);
  if (v.type != GgufType::String) type_error(key, v, "string");
  return std::string(v.str);
}

std::optional<std::string> GgufFile::opt_string(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_string(key);
}

int64_t GgufFile::get_int(std::string_view key) const {
  const GgufValue& v = require(key);
  if (!v.is_integer()) type_error(key, v, "an integer");
  switch (v.type) {
    case GgufType::Uint8: case GgufType::Uint16: case GgufType::Uint32: case GgufType::Uint64:
      if (v.u > uint64_t(std::numeric_limits<int64_t>::max()))
        fail("{}: metadata key '{}' value {} is out of range", name_, key, v.u);
      return int64_t(v.u);
    default: return v.i;
  }
}

std::optional<int64_t> GgufFile::opt_int(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_int(key);
}

double GgufFile::get_float(std::string_view key) const {
  const GgufValue& v = require(key);
  if (!v.is_float()) type_error(key, v, "float32 or float64");
  return v.f;
}

std::optional<double> GgufFile::opt_float(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_float(key);
}

bool GgufFile::get_bool(std::string_view key) const {
  const GgufValue& v = require(key);
  if (v.type != GgufType::Bool) type_error(key, v, "bool");
  return v.u != 0;
}

std::optional<bool> GgufFile::opt_bool(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_bool(key);
}

std::vector<std::string_view> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue& v = require(key);
  if (v.type != GgufType::Array || v.elem_type != GgufType::String)
    type_error(key, v, "array[string]");
  return v.strings;
}

std::vector<float> GgufFile::get_float_array(std::string_view key) const {
  const GgufValue& v = require(key);
  if (v.type != GgufType::Array ||
      (v.elem_type != GgufType::Float32 && v.elem_type != GgufType::Float64))
    type_error(key, v, "array[float32]");
  std::vector<float> out(size_t(v.count));
  for (size_t k = 0; k < out.size(); ++k)
    out[k] = v.elem_type == GgufType::Float32 ? load_le<float>(v.raw.data() + 4 * k)
                                              : float(load_le<double>(v.raw.data() + 8 * k));
  return out;
}

std::vector<int64_t> GgufFile::get_int_array(std::string_view key) const {
  const GgufValue& v = require(key);
  GgufValue probe;
  probe.type = v.elem_type;
  if (v.type != GgufType::Array || !probe.is_integer()) type_error(key, v, "array[int32]");
  std::vector<int64_t> out(size_t(v.count));
  const char* p = v.raw.data();
  for (size_t k = 0; k < out.size(); ++k) {
    switch (v.elem_type) {
      case GgufType::Uint8: out[k] = load_le<uint8_t>(p + k); break;
      case GgufType::Int8: out[k] = load_le<int8_t>(p + k); break;
      case GgufType::Uint16: out[k] = load_le<uint16_t>(p + 2 * k); break;
      case GgufType::Int16: out[k] = load_le<int16_t>(p + 2 * k); break;
      case GgufType::Uint32: out[k] = load_le<uint32_t>(p + 4 * k); break;
      case GgufType::Int32: out[k] = load_le<int32_t>(p + 4 * k); break;
      case GgufType::Int64: out[k] = load_le<int64_t>(p + 8 * k); break;
      case GgufType::Uint64: {
        uint64_t u = load_le<uint64_t>(p + 8 * k);
        if (u > uint64_t(std::numeric_limits<int64_t>::max()))
          fail("{}: metadata key '{}' element {} value {} is out of range", name_, key, k, u);
        out[k] = int64_t(u);
        break;
      }
      default: break;
    }
  }
  return out;
}

}  // namespace tessera

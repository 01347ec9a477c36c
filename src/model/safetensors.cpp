// The reader trusts nothing in the file: every count, offset and size is checked against
// the bytes actually present before it is used, with overflow-safe arithmetic, because
// safetensors files are routinely downloaded from strangers. Duplicate JSON keys are
// detected with a parser callback since nlohmann silently keeps the last one.
#include "model/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "model/hf_config.h"

namespace tessera {

using nlohmann::json;

namespace {

constexpr uint64_t kMaxHeader = 100u << 20;  // the reference implementation's limit

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

json parse_header_json(std::string_view text, const std::string& where) {
  // Each open object gets a set of its keys; a key seen twice in one object is an error.
  std::vector<std::set<std::string>> open;
  std::string dup;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    switch (ev) {
      case json::parse_event_t::object_start: open.emplace_back(); break;
      case json::parse_event_t::object_end:
        if (!open.empty()) open.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open.empty() && parsed.is_string() && !open.back().insert(parsed.get<std::string>()).second &&
            dup.empty())
          dup = parsed.get<std::string>();
        break;
      default: break;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), cb);
  } catch (const json::exception& e) {
    fail("{}: header is not valid JSON: {}", where, e.what());
  }
  if (!dup.empty()) fail("{}: header has duplicate key '{}'", where, dup);
  return j;
}

std::optional<DType> parse_dtype(const std::string& s) {
  if (s == "F32") return DType::F32;
  if (s == "F16") return DType::F16;
  if (s == "BF16") return DType::BF16;
  return std::nullopt;
}

}  // namespace

std::string safetensors_dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
  }
  return "?";
}

SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> bytes, const std::string& where) {
  if (bytes.size() < 8)
    fail("{}: file is {} bytes, too short for the 8-byte header length", where, bytes.size());
  const uint64_t n = read_u64_le(bytes.data());
  const uint64_t avail = bytes.size() - 8;
  if (n > avail)
    fail("{}: header length {} runs past the end of the file ({} bytes)", where, n, bytes.size());
  if (n > kMaxHeader) fail("{}: header length {} exceeds the {} byte limit", where, n, kMaxHeader);
  json j = parse_header_json(
      std::string_view(reinterpret_cast<const char*>(bytes.data()) + 8, size_t(n)), where);
  if (!j.is_object()) fail("{}: header must be a JSON object", where);

  SafetensorsHeader h;
  h.data_start = 8 + n;
  const uint64_t data_len = bytes.size() - h.data_start;
  for (auto& [key, val] : j.items()) {
    if (key == "__metadata__") {
      if (!val.is_object()) fail("{}: '__metadata__' must be an object of strings", where);
      for (auto& [mk, mv] : val.items()) {
        if (!mv.is_string()) fail("{}: '__metadata__' value '{}' must be a string", where, mk);
        h.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    SafetensorsInfo t;
    t.name = key;
    if (!val.is_object()) fail("{}: tensor '{}': entry must be an object", where, key);
    auto dt = val.find("dtype");
    if (dt == val.end() || !dt->is_string()) fail("{}: tensor '{}': missing string 'dtype'", where, key);
    auto dtype = parse_dtype(dt->get<std::string>());
    if (!dtype)
      fail("{}: tensor '{}': dtype {} is not supported (supported: F32, F16, BF16)", where, key,
           dt->get<std::string>());
    t.dtype = *dtype;
    auto sh = val.find("shape");
    if (sh == val.end() || !sh->is_array()) fail("{}: tensor '{}': missing array 'shape'", where, key);
    // Bound the element count as we go, so neither the product nor its byte size overflows;
    // the byte size is then checked against the data actually present.
    const uint64_t max_elems = uint64_t(INT64_MAX) / dtype_size(t.dtype);
    uint64_t numel = 1;
    bool zero = false;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned())
        fail("{}: tensor '{}': shape entries must be non-negative integers, got {}", where, key, d.dump());
      uint64_t v = d.get<uint64_t>();
      if (v == 0) zero = true;
      if (v > uint64_t(INT64_MAX)) fail("{}: tensor '{}': shape dimension {} is too large", where, key, v);
      t.shape.push_back(int64_t(v));
      if (!zero) {
        if (v > max_elems || numel > max_elems / v)
          fail("{}: tensor '{}': shape {} has too many elements", where, key, sh->dump());
        numel *= v;
      }
    }
    if (zero) numel = 0;
    auto off = val.find("data_offsets");
    if (off == val.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      fail("{}: tensor '{}': 'data_offsets' must be [begin, end] of non-negative integers", where, key);
    uint64_t b = (*off)[0].get<uint64_t>(), e = (*off)[1].get<uint64_t>();
    if (b > e) fail("{}: tensor '{}': data_offsets [{}, {}] end before they begin", where, key, b, e);
    if (e > data_len)
      fail("{}: tensor '{}': data [{}, {}) runs past the end of the data section ({} bytes)", where,
           key, b, e, data_len);
    const uint64_t want = numel * dtype_size(t.dtype);
    if (e - b != want)
      fail("{}: tensor '{}': data_offsets [{}, {}) hold {} bytes, but {} {} needs {}", where, key, b,
           e, e - b, safetensors_dtype_name(t.dtype), sh->dump(), want);
    t.begin = h.data_start + b;
    t.end = h.data_start + e;
    h.tensors.push_back(std::move(t));
  }
  std::vector<const SafetensorsInfo*> by_offset;
  for (const auto& t : h.tensors)
    if (t.end > t.begin) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      fail("{}: tensors '{}' and '{}' overlap in the data section", where, by_offset[i - 1]->name,
           by_offset[i]->name);
  return h;
}

std::map<std::string, Tensor> read_safetensors(std::span<const uint8_t> bytes, const std::string& where,
                                               std::shared_ptr<const void> owner) {
  SafetensorsHeader h = parse_safetensors_header(bytes, where);
  std::map<std::string, Tensor> out;
  for (auto& t : h.tensors) {
    const uint8_t* p = bytes.data() + t.begin;
    const size_t n = size_t(t.end - t.begin);
    // Files whose header length is not a multiple of 8 leave data misaligned; reading a
    // float through a misaligned pointer is UB, so those tensors get an aligned copy.
    if (reinterpret_cast<uintptr_t>(p) % dtype_size(t.dtype) != 0)
      out.emplace(t.name, Tensor::owned_bytes(t.dtype, t.shape, std::vector<uint8_t>(p, p + n)));
    else
      out.emplace(t.name, Tensor::view(t.dtype, t.shape, p, owner));
  }
  return out;
}

std::map<std::string, Tensor> load_safetensors(const std::string& path) {
  auto f = MappedFile::open(path);
  return read_safetensors(std::span<const uint8_t>(f->data(), f->size()), path, f);
}

std::map<std::string, Tensor> load_safetensors_index(const std::string& index_path) {
  namespace fs = std::filesystem;
  json j = read_json_file(index_path);
  if (!j.is_object()) fail("{}: expected a JSON object", index_path);
  auto wm = j.find("weight_map");
  if (wm == j.end() || !wm->is_object())
    fail("{}: missing object 'weight_map'", index_path);
  const fs::path dir = fs::path(index_path).parent_path();
  std::map<std::string, std::string> tensor_shard;
  std::set<std::string> shards;
  for (auto& [name, file] : wm->items()) {
    if (!file.is_string())
      fail("{}: weight_map entry '{}' must be a file name string", index_path, name);
    std::string s = file.get<std::string>();
    // Shards live beside the index; a path elsewhere is a broken or hostile index.
    if (s.empty() || s.find('/') != std::string::npos || s.find('\\') != std::string::npos ||
        s == "." || s == "..")
      fail("{}: weight_map entry '{}' names '{}', which is not a file name in the same directory",
           index_path, name, s);
    tensor_shard[name] = s;
    shards.insert(s);
  }
  std::map<std::string, Tensor> all;
  std::map<std::string, std::string> found_in;
  for (const auto& s : shards) {
    const std::string path = (dir / s).string();
    std::error_code ec;
    if (!fs::exists(path, ec)) fail("{}: shard '{}' does not exist ({})", index_path, s, path);
    for (auto& [name, t] : load_safetensors(path)) {
      if (auto prev = found_in.find(name); prev != found_in.end())
        fail("{}: tensor '{}' is in both shards '{}' and '{}'", index_path, name, prev->second, s);
      found_in[name] = s;
      all.emplace(name, std::move(t));
    }
  }
  for (const auto& [name, s] : tensor_shard) {
    auto it = found_in.find(name);
    if (it == found_in.end() || it->second != s)
      fail("{}: tensor '{}' is listed in shard '{}' but that shard does not contain it", index_path,
           name, s);
  }
  return all;
}

uint64_t write_safetensors(const std::string& path, const std::vector<SafetensorsWriteEntry>& entries,
                           DType dtype, const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  json meta = json::object();
  meta["format"] = "pt";
  for (const auto& [k, v] : metadata) meta[k] = v;
  header["__metadata__"] = meta;
  uint64_t offset = 0;
  const uint64_t esize = dtype_size(dtype);
  for (const auto& e : entries) {
    if (e.name == "__metadata__" || header.contains(e.name))
      fail("{}: cannot write tensor name '{}' twice or as a reserved name", path, e.name);
    uint64_t numel = 1;
    for (int64_t d : e.shape) {
      if (d < 0) fail("{}: tensor '{}' has a negative dimension", path, e.name);
      if (d != 0 && numel > (UINT64_MAX / esize) / uint64_t(d))
        fail("{}: tensor '{}' is too large", path, e.name);
      numel *= uint64_t(d);
    }
    header[e.name] = {{"dtype", safetensors_dtype_name(dtype)},
                      {"shape", e.shape},
                      {"data_offsets", {offset, offset + numel * esize}}};
    offset += numel * esize;
  }
  std::string text = header.dump();
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');

  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail("{}: cannot open for writing: {}", path, std::strerror(errno));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> guard(f, &std::fclose);
  auto put = [&](const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f) != n) fail("{}: write failed: {}", path, std::strerror(errno));
  };
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(text.size()) >> (8 * i));
  put(len, 8);
  put(text.data(), text.size());
  std::vector<float> buf;
  std::vector<uint16_t> half;
  for (const auto& e : entries) {
    int64_t numel = 1;
    for (int64_t d : e.shape) numel *= d;
    buf.assign(size_t(numel), 0.f);
    if (numel) e.fill(buf.data());
    if (dtype == DType::F32) {
      put(buf.data(), buf.size() * 4);  // little-endian host assumed, as everywhere in Tessera
    } else {
      half.resize(buf.size());
      for (size_t i = 0; i < buf.size(); ++i)
        half[i] = dtype == DType::F16 ? f32_to_f16(buf[i]) : f32_to_bf16(buf[i]);
      put(half.data(), half.size() * 2);
    }
  }
  if (std::fflush(f) != 0) fail("{}: write failed: {}", path, std::strerror(errno));
  if (std::fclose(guard.release()) != 0) fail("{}: close failed: {}", path, std::strerror(errno));
  return offset;
}

}  // namespace tessera

// safetensors reading and writing.
// Reading works on a byte span so the fuzzer can drive the exact parser the importer
// uses; the file variants map the file once and hand out zero-copy Tensor views whose
// owner is the mapping (copied out only when a view would be misaligned for its dtype).
// Writing streams one tensor at a time: the header is computed from names and shapes
// before any data exists, so a writer never holds more than one tensor.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tessera {

struct SafetensorsInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // offsets from the start of the whole file
};

struct SafetensorsHeader {
  std::vector<SafetensorsInfo> tensors;  // in header order
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;               // 8 + header length
};

// Parses and checks the header against the bytes available. `where` names the file.
SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> bytes, const std::string& where);

// All tensors of a safetensors image. Tensors view `bytes` and keep `owner` alive.
std::map<std::string, Tensor> read_safetensors(std::span<const uint8_t> bytes,
                                               const std::string& where,
                                               std::shared_ptr<const void> owner);
// Maps a file and reads it.
std::map<std::string, Tensor> load_safetensors(const std::string& path);
// model.safetensors.index.json: maps every shard it names once; checks that every tensor in
// the weight map is in the shard it names and no tensor is in two shards.
std::map<std::string, Tensor> load_safetensors_index(const std::string& index_path);

// One tensor to write: values arrive as fp32 and are stored as `dtype`.
struct SafetensorsWriteEntry {
  std::string name;
  std::vector<int64_t> shape;
  std::function<void(float* dst)> fill;
};
// Writes entries in order, converting with round-to-nearest-even. Returns the bytes of
// tensor data written (the index's total_size).
uint64_t write_safetensors(const std::string& path, const std::vector<SafetensorsWriteEntry>& entries,
                           DType dtype, const std::map<std::string, std::string>& metadata = {});

std::string safetensors_dtype_name(DType t);  // "F32", "F16", "BF16"

}  // namespace tessera

// Model export, used by `tessera make-model` and by tests that round-trip formats.
// Writers stream tensors one at a time through TensorEntry::fill, so an 8B-parameter
// random model is written without ever holding all of it in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/model.h"

namespace tessera {

struct TensorEntry {
  std::string name;             // canonical (HF) name, see model.h
  std::vector<int64_t> shape;   // row-major, PyTorch order
  // Writes numel fp32 values (row-major) to dst. Writers convert to their stored dtype.
  std::function<void(float* dst)> fill;
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

// Everything a writer needs. Tensors are in canonical layout (HF rotary layout for q/k);
// writers of interleaved formats permute q/k rows themselves.
struct ExportModel {
  ModelConfig config;
  std::vector<TensorEntry> tensors;
  VocabSpec vocab;              // written into GGUF metadata / tokenizer.bin / tokenizer.json
  std::string chat_template;    // optional
};

// Entries that read from a loaded model's weights (for format conversion).
ExportModel export_from(const Model& m, const VocabSpec& vocab);

// HF directory: config.json, model.safetensors (or shards of at most shard_bytes with
// model.safetensors.index.json when shard_bytes > 0), generation_config.json. The
// tokenizer (tokenizer.json) is written by the tokenizer layer (write_tokenizer_json).
void write_hf(const ExportModel& m, const std::string& dir, DType dtype, int64_t shard_bytes = 0);
// GGUF v3 with the vocabulary and hyper-parameters in the metadata. dtype F32/F16/BF16.
void write_gguf(const ExportModel& m, const std::string& path, DType dtype);
// llama2.c checkpoint (legacy version 0 layout, fp32). Its tokenizer.bin is written by the
// tokenizer layer (write_llama2c_tokenizer).
void write_llama2c(const ExportModel& m, const std::string& path);

}  // namespace tessera

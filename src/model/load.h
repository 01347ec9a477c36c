// Model import front door: picks the importer by what the path is.
//   directory with config.json          -> Hugging Face (safetensors, sharded or not)
//   file starting with "GGUF"           -> GGUF v2/v3
//   other file                          -> llama2.c checkpoint
// Every importer returns a Model that passed Model::validate().
#pragma once

#include <string>

#include "model/model.h"

namespace tessera {

Model load_model(const std::string& path);

// Per-format importers (each in its own file).
Model load_hf(const std::string& dir);          // model/hf_import.cpp
Model load_gguf(const std::string& path);       // model/gguf_import.cpp
Model load_llama2c(const std::string& path);    // model/llama2c_import.cpp

}  // namespace tessera

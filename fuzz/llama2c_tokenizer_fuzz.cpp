// Feeds arbitrary bytes as a llama2.c tokenizer.bin (read to the end), then encodes and
// decodes a fixed string. Only tessera::Error may escape.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "tokenizer/llama2c_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    auto tok = tessera::llama2c_tokenizer_from_bytes(bytes, 0, "fuzz.bin");
    auto ids = tok->encode("Once upon a time, é 😀", true);
    tok->decode(ids, false);
    tok->decode(ids, true);
  } catch (const tessera::Error&) {
  }
  return 0;
}

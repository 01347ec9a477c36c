// Feeds arbitrary bytes as a llama2.c checkpoint; loading must succeed or throw
// tessera::Error. Every weight of a successful load is read in full so a view that
// escapes the input is caught by ASan.
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "model/llama2c.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  try {
    tessera::Model m = tessera::load_llama2c_bytes(bytes, "fuzz.bin", nullptr);
    volatile float sink = 0;
    for (auto& [name, t] : m.weights)
      for (int64_t i = 0; i < t.numel(); ++i) sink = sink + t.at(i);
  } catch (const tessera::Error&) {
  }
  return 0;
}

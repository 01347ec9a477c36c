// Feeds arbitrary bytes to the safetensors reader the importer uses. Any outcome but a
// tessera::Error or success (crash, sanitizer report, InternalError) is a bug. Every
// tensor returned is read in full so out-of-bounds views are caught by ASan.
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A heap copy so ASan sees the exact extent of the "file".
  std::vector<uint8_t> bytes(data, data + size);
  try {
    auto tensors = tessera::read_safetensors(bytes, "fuzz.safetensors", nullptr);
    volatile float sink = 0;
    for (auto& [name, t] : tensors)
      for (int64_t i = 0; i < t.numel(); ++i) sink = sink + t.at(i);
  } catch (const tessera::Error&) {
  }
  return 0;
}

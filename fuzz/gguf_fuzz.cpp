// libFuzzer entry: parse arbitrary bytes as GGUF and, when that succeeds, import them as
// a Model. Both steps may only succeed or throw tessera::Error; any other exception,
// crash or sanitizer report is a bug. Bytes are copied into an 8-byte-aligned buffer like
// a memory map would be, so misalignment found here is the parser's, not libFuzzer's.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "model/gguf_import.h"
#include "model/gguf_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint64_t> buf((size + 7) / 8);
  if (size) std::memcpy(buf.data(), data, size);
  std::string_view bytes(reinterpret_cast<const char*>(buf.data()), size);
  try {
    tessera::GgufFile f = tessera::GgufFile::parse(bytes, "fuzz.gguf");
    tessera::Model m = tessera::model_from_gguf(f);
    // Touch every weight so a view pointing outside the input is caught by ASan.
    volatile float sink = 0;
    for (const auto& [name, t] : m.weights)
      if (t.numel() > 0) sink = sink + t.at(0) + t.at(t.numel() - 1);
  } catch (const tessera::Error&) {
  }
  return 0;
}

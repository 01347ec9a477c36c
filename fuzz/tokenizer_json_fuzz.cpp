// Feeds arbitrary bytes to the tokenizer.json loader, then encodes and decodes a fixed
// string with whatever loaded. Only tessera::Error may escape: anything else (an internal
// error, a crash, a sanitizer report) is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "tokenizer/hf_tokenizer_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    auto tok = tessera::load_tokenizer_json_string(bytes, "fuzz.json");
    auto ids = tok->encode("Hello wörld <s> 12 日本 😀\n\t x", true);
    tok->decode(ids, false);
    tok->decode(ids, true);
    tok->decode({0, tok->vocab_size() - 1}, true);
  } catch (const tessera::Error&) {
  }
  return 0;
}

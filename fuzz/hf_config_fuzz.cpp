// Feeds arbitrary bytes as config.json text. parse_hf_config must either succeed with a
// config that validates, or throw tessera::Error (JSON syntax errors included); a success
// is also written back and re-parsed, which must succeed.
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "model/hf_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  tessera::ModelConfig c;
  try {
    c = tessera::parse_hf_config_text(text, "config.json");
  } catch (const tessera::Error&) {
    return 0;
  }
  if (!c.rope_freq_factors.empty()) return 0;
  tessera::parse_hf_config(tessera::hf_config_json(c, tessera::DType::BF16), "rewritten");
  return 0;
}

// Fuzzes the plan JSON reader: arbitrary bytes may produce tessera::Error and nothing else
// (no crash, no other exception, no huge allocation). Accepted plans are written back and
// must parse again to the same text, so the writer is exercised on odd but legal plans.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "plan/plan_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    tessera::Plan p = tessera::parse_plan_json(text, "fuzz.json");
    const std::string out = tessera::plan_to_json(p);
    tessera::Plan back = tessera::parse_plan_json(out, "fuzz-rt.json");
    if (tessera::plan_to_json(back) != out) __builtin_trap();
  } catch (const tessera::Error&) {
  }
  return 0;
}

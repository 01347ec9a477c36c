// The parent writes the source to a fresh directory, runs `tessera variant-compile` on it
// and reads back result.json and the images the child wrote beside it (files, not stdout:
// a PTX can exceed the child's capped output).
#include "variants/variant_compile_isolated.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "variants/child_process.h"
#include "variants/variant_runner.h"

namespace tessera::variants {

namespace {

using nlohmann::json;

CompileResult killed(const CompileOptions& options, const std::string& what, double wall_s) {
  CompileResult r;
  r.arch = options.arch;
  r.diagnostics.push_back({"nvrtc", 0, "error", what});
  r.log = what;
  r.seconds = wall_s;
  return r;
}

}  // namespace

void write_compile_result(const CompileResult& r, const std::string& out_dir) {
  const json j{{"ok", r.ok}, {"arch", r.arch}, {"seconds", r.seconds}, {"log", r.log},
               {"diagnostics", diagnostics_json(r.diagnostics)}};
  const std::filesystem::path dir(out_dir);
  write_bytes(dir / "variant.ptx", r.ptx);
  write_bytes(dir / "variant.cubin", r.cubin);
  write_bytes(dir / "result.json", j.dump());  // last: its presence means the others are complete
}

CompileResult compile_variant_isolated(const std::string& variant_source, const VariantSpec& spec,
                                       const CompileOptions& options, const IsolatedCompileOptions& isolation) {
  const ChildWorkDir dir;
  const std::filesystem::path source = dir.write("variant.cu", variant_source);
  const std::string binary = isolation.tessera_binary.empty() ? self_executable() : isolation.tessera_binary;
  ChildLimits limits;
  limits.timeout_s = isolation.timeout_s;
  const ChildOutcome o = run_child({binary, "variant-compile", "--entry", spec.name, "--source", source.string(), "--arch", options.arch, "--variants-dir",
                                    options.variants_dir, "--out", dir.path.string()},
                                   limits);
  if (o.timed_out)
    return killed(options,
                  fmt::format("the compile gate's child ran past its {:.3g} s limit and was killed (NVRTC or ptxas "
                              "did not finish on this source)",
                              isolation.timeout_s),
                  o.wall_s);
  if (o.signal) return killed(options, fmt::format("the compile gate's child was {}: {}", o.describe(), stderr_tail(o.err)), o.wall_s);
  if (o.exit_code != 0) fail("compile gate: the child {}: {}", o.describe(), stderr_tail(o.err));
  if (!std::filesystem::exists(dir.path / "result.json"))
    fail("compile gate: the child exited 0 without writing result.json");
  const std::string text = read_bytes(dir.path / "result.json", "compile gate");
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    fail("compile gate: the child's result.json is not JSON: {}", e.what());
  }
  CompileResult r;
  try {
    r.ok = j.at("ok").get<bool>();
    r.arch = j.at("arch").get<std::string>();
    r.seconds = j.at("seconds").get<double>();
    r.log = j.at("log").get<std::string>();
    for (const json& d : j.at("diagnostics"))
      r.diagnostics.push_back({d.at("file").get<std::string>(), d.at("line").get<int>(),
                               d.at("severity").get<std::string>(), d.at("message").get<std::string>()});
  } catch (const json::exception& e) {
    fail("compile gate: the child's result.json lacks a field: {}", e.what());
  }
  // A failed compile has no images; a success without a cubin is caught below.
  for (auto [name, dst] : {std::pair{"variant.ptx", &r.ptx}, std::pair{"variant.cubin", &r.cubin}})
    if (std::filesystem::exists(dir.path / name)) *dst = read_bytes(dir.path / name, "compile gate");
  if (r.ok && r.cubin.empty()) fail("compile gate: the child reported success but wrote no cubin");
  return r;
}

}  // namespace tessera::variants

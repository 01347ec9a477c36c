// The NVRTC compile gate (see variant_compile.h). The program is
//   prelude (the headers the signature needs)
//   #line 1 "variant.cu"   + the variant
//   #line 1 "harness.cu"   + the wrapper
// so NVRTC's messages carry the variant's own line numbers. Everything NVRTC-specific is
// behind TESSERA_HAVE_NVRTC, which the build defines for this file when it links NVRTC.
#include "variants/variant_compile.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "agents/cuda_tokens.h"
#include "core/error.h"

#ifdef TESSERA_HAVE_NVRTC
#include <nvrtc.h>
#endif

#ifndef TESSERA_CUDA_INCLUDE_DIR
#define TESSERA_CUDA_INCLUDE_DIR ""
#endif

namespace tessera::variants {

namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

}  // namespace

std::string CompileResult::summary() const {
  std::string out;
  for (const CompileDiagnostic& d : diagnostics) {
    if (d.severity != "error") continue;
    out += d.line ? fmt::format("{} line {}: {}\n", d.file, d.line, d.message) : fmt::format("{}: {}\n", d.file, d.message);
  }
  return out;
}

std::vector<CompileDiagnostic> disallowed_includes(const std::string& source, const std::vector<std::string>& allowed) {
  std::vector<CompileDiagnostic> out;
  for (const agents::CudaToken& t : agents::lex_cuda(source).tokens) {
    if (t.kind != agents::CudaToken::Directive) continue;
    const std::string d = trim(t.text);
    const size_t word_end = d.find_first_of(" \t<\"");
    const std::string word = d.substr(0, word_end);
    if (word.rfind("include", 0) != 0 && word != "import") continue;
    const std::string rest = word_end == std::string::npos ? "" : trim(d.substr(word_end));
    std::string header;
    if (rest.size() >= 2 && ((rest.front() == '<' && rest.back() == '>') || (rest.front() == '"' && rest.back() == '"')))
      header = rest.substr(1, rest.size() - 2);
    std::string list;
    for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
    if (header.empty()) {
      out.push_back({"variant", t.line, "error", fmt::format("#{} must name a header directly (allowed: {})", d, list)});
    } else if (word != "include" || std::find(allowed.begin(), allowed.end(), header) == allowed.end()) {
      out.push_back({"variant", t.line, "error",
                     fmt::format("#{} <{}> is outside the headers the compile gate supplies (allowed: {})", word, header, list)});
    }
  }
  return out;
}

nlohmann::json diagnostics_json(const std::vector<CompileDiagnostic>& diagnostics) {
  nlohmann::json out = nlohmann::json::array();
  for (const CompileDiagnostic& d : diagnostics)
    out.push_back({{"file", d.file}, {"line", d.line}, {"severity", d.severity}, {"message", d.message}});
  return out;
}

std::vector<CompileDiagnostic> parse_nvrtc_log(const std::string& log) {
  static const std::regex located(R"(^(.*)\((\d+)\): (catastrophic error|error|warning)( #[^:]*)?: (.*)$)");
  static const std::regex ptxas(R"(^ptxas\s*(fatal|error|warning)\s*: (.*)$)");
  std::vector<CompileDiagnostic> out;
  std::istringstream in(log);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (std::regex_match(line, m, located)) {
      std::string file = m[1].str();
      if (file == "variant.cu") file = "variant";
      else if (file == "harness.cu") file = "harness";
      out.push_back({file, std::stoi(m[2].str()), m[3].str() == "warning" ? "warning" : "error", m[5].str()});
    } else if (std::regex_match(line, m, ptxas)) {
      out.push_back({"ptxas", 0, m[1].str() == "warning" ? "warning" : "error", m[2].str()});
    }
  }
  std::stable_partition(out.begin(), out.end(), [](const CompileDiagnostic& d) { return d.severity == "error"; });
  return out;
}

#ifdef TESSERA_HAVE_NVRTC

namespace {

// What NVRTC may open: the half-precision headers and the parts they include under NVRTC
// (vector types, nv/target and the rest are NVRTC built-ins).
const char* const kSuppliedHeaders[] = {"cuda_fp16.h", "cuda_fp16.hpp", "cuda_bf16.h",
                                        "cuda_bf16.hpp", "cuda_fp8.h",  "cuda_fp8.hpp"};

std::string cuda_include_dir() {
  if (const char* env = std::getenv("TESSERA_CUDA_INCLUDE_DIR"); env && *env) return env;
  return TESSERA_CUDA_INCLUDE_DIR;
}

// The supplied headers, read once: (name, contents).
const std::vector<std::pair<std::string, std::string>>& supplied_headers() {
  static const std::vector<std::pair<std::string, std::string>> headers = [] {
    const std::string dir = cuda_include_dir();
    std::vector<std::pair<std::string, std::string>> h;
    for (const char* name : kSuppliedHeaders) {
      const std::filesystem::path p = std::filesystem::path(dir) / name;
      std::ifstream in(p);
      if (!in)
        fail("compile gate: CUDA header '{}' not found (toolkit include directory '{}'; set TESSERA_CUDA_INCLUDE_DIR)",
             p.string(), dir);
      std::stringstream ss;
      ss << in.rdbuf();
      h.emplace_back(name, ss.str());
    }
    return h;
  }();
  return headers;
}

struct Program {
  nvrtcProgram p = nullptr;
  ~Program() {
    if (p) nvrtcDestroyProgram(&p);
  }
};

void nvrtc_check(nvrtcResult r, const char* what) {
  if (r != NVRTC_SUCCESS) fail("compile gate: {} failed: {}", what, nvrtcGetErrorString(r));
}

}  // namespace

bool nvrtc_available(std::string* why) {
  int major = 0, minor = 0;
  if (nvrtcVersion(&major, &minor) != NVRTC_SUCCESS) {
    if (why) *why = "nvrtcVersion failed";
    return false;
  }
  return true;
}

CompileResult compile_variant(const std::string& variant_source, const VariantSpec& spec, const CompileOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  CompileResult r;
  r.arch = options.arch;
  if (!std::regex_match(options.arch, std::regex(R"(sm_\d+[af]?)")))
    fail("compile gate: architecture '{}' is not a real one like sm_80 or sm_90a", options.arch);
  r.diagnostics = disallowed_includes(variant_source, guard_policy(spec).allowed_includes);
  if (!r.diagnostics.empty()) return r;

  const std::string harness = harness_source(spec, options.variants_dir);
  const std::string program = spec.prelude + "#line 1 \"variant.cu\"\n" + variant_source + "\n#line 1 \"harness.cu\"\n" + harness;
  const auto& headers = supplied_headers();
  std::vector<const char*> bodies, names;
  for (const auto& [name, body] : headers) {
    names.push_back(name.c_str());
    bodies.push_back(body.c_str());
  }
  Program prog;
  nvrtc_check(nvrtcCreateProgram(&prog.p, program.c_str(), "prelude.cu", int(headers.size()), bodies.data(), names.data()),
              "nvrtcCreateProgram");
  const std::string arch_flag = "-arch=" + options.arch;
  const char* flags[] = {arch_flag.c_str(), "-std=c++17", "--no-source-include"};
  const nvrtcResult cr = nvrtcCompileProgram(prog.p, int(std::size(flags)), flags);
  size_t n = 0;
  nvrtc_check(nvrtcGetProgramLogSize(prog.p, &n), "nvrtcGetProgramLogSize");
  r.log.assign(n, '\0');
  nvrtc_check(nvrtcGetProgramLog(prog.p, r.log.data()), "nvrtcGetProgramLog");
  while (!r.log.empty() && r.log.back() == '\0') r.log.pop_back();
  r.diagnostics = parse_nvrtc_log(r.log);
  if (cr == NVRTC_SUCCESS) {
    nvrtc_check(nvrtcGetPTXSize(prog.p, &n), "nvrtcGetPTXSize");
    r.ptx.assign(n, '\0');
    nvrtc_check(nvrtcGetPTX(prog.p, r.ptx.data()), "nvrtcGetPTX");
    nvrtc_check(nvrtcGetCUBINSize(prog.p, &n), "nvrtcGetCUBINSize");
    r.cubin.assign(n, '\0');
    nvrtc_check(nvrtcGetCUBIN(prog.p, r.cubin.data()), "nvrtcGetCUBIN");
    r.ok = !r.cubin.empty();
  } else if (cr != NVRTC_ERROR_COMPILATION) {
    fail("compile gate: nvrtcCompileProgram failed: {}", nvrtcGetErrorString(cr));
  } else if (std::none_of(r.diagnostics.begin(), r.diagnostics.end(),
                          [](const CompileDiagnostic& d) { return d.severity == "error"; })) {
    r.diagnostics.insert(r.diagnostics.begin(), {"nvrtc", 0, "error", "compilation failed: " + r.log});
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

#else

bool nvrtc_available(std::string* why) {
  if (why) *why = "this build has no NVRTC (configured without a CUDA toolkit)";
  return false;
}

CompileResult compile_variant(const std::string&, const VariantSpec&, const CompileOptions&) {
  fail("compile gate: this build has no NVRTC (configured without a CUDA toolkit)");
}

#endif

}  // namespace tessera::variants

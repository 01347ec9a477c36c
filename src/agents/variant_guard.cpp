// The token-level gate for instruction variants (see variant_guard.h for what and why).
// One pass collects what the rules need (function definitions and their parameters,
// __shared__ arrays, pointers assigned from either), a second applies the rules token by
// token; every finding carries the line of the token that triggered it.
#include "agents/variant_guard.h"

#include "agents/cuda_tokens.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace tessera::agents {

std::string GuardReport::summary() const {
  std::string out;
  for (const GuardFinding& f : findings) out += fmt::format("line {}: [{}] {}\n", f.line, f.rule, f.message);
  return out;
}

namespace {

using Tokens = std::vector<CudaToken>;

const std::set<std::string> kHostCalls{
    "malloc", "calloc",  "realloc", "free",  "new",     "delete", "printf", "vprintf", "fprintf",
    "sprintf", "snprintf", "puts",  "putchar", "fopen", "fread",  "fwrite", "fclose",  "system",
    "exit",   "abort",   "getenv",  "assert", "__assertfail", "dlopen", "dlsym", "mmap", "syscall"};
const std::set<std::string> kTimers{"clock", "clock64", "__clock", "globaltimer", "__globaltimer", "__nanosleep"};
const std::set<std::string> kHostLibraryPrefixes{"nvrtc", "cublas", "cudnn", "nccl", "nvml", "cufft", "curand"};

bool is_punct(const Tokens& t, size_t i, const char* p) {
  return i < t.size() && t[i].kind == CudaToken::Punct && t[i].text == p;
}

bool is_ident(const Tokens& t, size_t i, const char* w) {
  return i < t.size() && t[i].kind == CudaToken::Ident && t[i].text == w;
}

// Index of the token closing the bracket opened at `open` (t[open] is "(" "[" or "{").
size_t matching(const Tokens& t, size_t open) {
  const std::string o = t[open].text;
  const std::string c = o == "(" ? ")" : o == "[" ? "]" : "}";
  int depth = 0;
  for (size_t i = open; i < t.size(); ++i) {
    if (t[i].kind != CudaToken::Punct) continue;
    if (t[i].text == o) ++depth;
    if (t[i].text == c && --depth == 0) return i;
  }
  return t.size();
}

bool host_library_name(const std::string& w) {
  if (w.size() > 4 && w.rfind("cuda", 0) == 0 && std::isupper(static_cast<unsigned char>(w[4]))) return true;
  if (w.size() > 2 && w.rfind("cu", 0) == 0 && std::isupper(static_cast<unsigned char>(w[2]))) return true;
  for (const auto& p : kHostLibraryPrefixes)
    if (w.rfind(p, 0) == 0) return true;
  return false;
}

std::string joined(const Tokens& t, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to && i < t.size(); ++i) {
    if (!out.empty()) out += ' ';
    out += t[i].kind == CudaToken::String ? "\"" + t[i].text + "\"" : t[i].text;
  }
  return out;
}

struct FunctionDef {
  std::string name;
  int line = 0;
  size_t params_open = 0, params_close = 0, body_open = 0, body_close = 0;
  bool device = false, host = false, global = false;
};

class Checker {
 public:
  Checker(const Tokens& t, const VariantGuardPolicy& p) : t_(t), policy_(p) {}

  std::vector<GuardFinding> run() {
    collect_functions();
    collect_roots();
    check_functions();
    check_tokens();
    std::stable_sort(findings_.begin(), findings_.end(), [](const auto& a, const auto& b) { return a.line != b.line ? a.line < b.line : a.rule < b.rule; });
    return findings_;
  }

 private:
  void add(int line, const char* rule, std::string message) { findings_.push_back({line, rule, std::move(message)}); }

  // Function definitions at file scope: `... name ( params ) [qualifiers] { body }`.
  void collect_functions() {
    size_t decl_start = 0;
    for (size_t i = 0; i < t_.size(); ++i) {
      const CudaToken& tok = t_[i];
      if (tok.kind == CudaToken::Directive) {
        decl_start = i + 1;
        continue;
      }
      if (is_punct(t_, i, ";")) {
        check_file_scope_declaration(decl_start, i);
        decl_start = i + 1;
        continue;
      }
      if (is_punct(t_, i, "{")) {
        bool is_namespace = false;
        for (size_t d = decl_start; d < i; ++d) is_namespace |= is_ident(t_, d, "namespace");
        if (is_namespace) {  // its contents are file scope too: scan on into them
          decl_start = i + 1;
          continue;
        }
        i = matching(t_, i);  // a struct or initializer at file scope: skip it whole
        continue;
      }
      if (is_punct(t_, i, "}")) {  // the end of a namespace
        decl_start = i + 1;
        continue;
      }
      if (tok.kind == CudaToken::Ident && is_punct(t_, i + 1, "(")) {
        const size_t close = matching(t_, i + 1);
        size_t k = close + 1;
        while (k < t_.size() && t_[k].kind == CudaToken::Ident) ++k;  // const, noexcept, ...
        if (k < t_.size() && is_punct(t_, k, "{")) {
          FunctionDef f;
          f.name = tok.text;
          f.line = tok.line;
          f.params_open = i + 1;
          f.params_close = close;
          f.body_open = k;
          f.body_close = matching(t_, k);
          for (size_t d = decl_start; d < i; ++d) {
            f.device |= is_ident(t_, d, "__device__");
            f.host |= is_ident(t_, d, "__host__");
            f.global |= is_ident(t_, d, "__global__");
          }
          functions_.push_back(f);
          i = f.body_close;
          decl_start = i + 1;
          continue;
        }
        i = close;
      }
    }
  }

  // `__device__ float cache[64];` and friends: state that outlives a call.
  void check_file_scope_declaration(size_t from, size_t to) {
    bool is_function = false;
    for (size_t i = from; i < to && !is_punct(t_, i, "="); ++i)
      if (is_punct(t_, i, "(")) is_function = true;
    if (is_function) return;
    for (size_t i = from; i < to; ++i)
      for (const char* q : {"__device__", "__constant__", "__managed__"})
        if (is_ident(t_, i, q))
          add(t_[i].line, "global-state",
              fmt::format("{} variable at file scope: state that survives a call (a cached result) is not allowed; "
                          "use the parameters",
                          q));
  }

  // Names of the pointer (or array) parameters in ( ... ): an integer parameter cast to a
  // pointer is an address the harness did not hand over.
  static std::vector<std::string> pointer_params(const Tokens& t, size_t open, size_t close) {
    std::vector<std::string> names;
    std::string last;
    bool pointer = false, stop = false;  // stop: after '[' or '=' in this parameter
    int depth = 0;
    for (size_t i = open + 1; i <= close; ++i) {
      if (i == close || (depth == 0 && is_punct(t, i, ","))) {
        if (pointer && !last.empty()) names.push_back(last);
        last.clear();
        pointer = stop = false;
        continue;
      }
      if (is_punct(t, i, "(") || is_punct(t, i, "<")) ++depth;
      if (is_punct(t, i, ")") || is_punct(t, i, ">")) --depth;
      if (is_punct(t, i, "*") || is_punct(t, i, "[") || is_punct(t, i, "&")) pointer = true;
      if (is_punct(t, i, "[") || is_punct(t, i, "=")) stop = true;
      if (!stop && t[i].kind == CudaToken::Ident) last = t[i].text;
    }
    return names;
  }

  // Names an atomic may target: pointer parameters, __shared__ arrays, and anything assigned from them.
  void collect_roots() {
    for (const FunctionDef& f : functions_)
      for (const auto& n : pointer_params(t_, f.params_open, f.params_close)) roots_.insert(n);
    for (size_t i = 0; i < t_.size(); ++i) {
      if (!is_ident(t_, i, "__shared__")) continue;
      for (size_t k = i + 1; k < t_.size(); ++k) {
        if (is_punct(t_, k, "[") || is_punct(t_, k, ";") || is_punct(t_, k, "=")) {
          if (k > 0 && t_[k - 1].kind == CudaToken::Ident) roots_.insert(t_[k - 1].text);
          break;
        }
      }
    }
    for (size_t i = 1; i + 1 < t_.size(); ++i) {
      if (!is_punct(t_, i, "=") || is_punct(t_, i + 1, "=") || t_[i - 1].kind != CudaToken::Ident) continue;
      for (size_t k = i + 1; k < t_.size() && !is_punct(t_, k, ";") && !is_punct(t_, k, ","); ++k)
        if (t_[k].kind == CudaToken::Ident && roots_.count(t_[k].text)) {
          roots_.insert(t_[i - 1].text);
          break;
        }
    }
  }

  void check_functions() {
    for (const FunctionDef& f : functions_) {
      if (f.global)
        add(f.line, "host-code", fmt::format("'{}' is a __global__ kernel; a variant is a __device__ function", f.name));
      else if (f.host)
        add(f.line, "host-code", fmt::format("'{}' is __host__ code; a variant is a __device__ function", f.name));
      else if (!f.device)
        add(f.line, "host-code",
            fmt::format("'{}' is not declared __device__, so it would be host code; a variant is a __device__ "
                        "function",
                        f.name));
    }
    if (policy_.entry.empty()) return;
    const FunctionDef* entry = nullptr;
    for (const FunctionDef& f : functions_)
      if (f.name == policy_.entry && f.device) entry = &f;
    if (!entry) {
      add(1, "signature", fmt::format("no __device__ function '{}' is defined (the variant library calls it)", policy_.entry));
      return;
    }
    if (policy_.signature.empty()) return;
    const Tokens want = lex_cuda("(" + policy_.signature + ")").tokens;
    const std::string want_text = joined(want, 1, want.size() - 1);
    const std::string got_text = joined(t_, entry->params_open + 1, entry->params_close);
    if (want_text != got_text)
      add(entry->line, "signature",
          fmt::format("'{}' has parameters ({}) but the variant library requires ({})", policy_.entry, got_text,
                      want_text));
  }

  void check_include(const CudaToken& tok) {
    std::string rest = tok.text.substr(7);
    const size_t b = rest.find_first_of("<\"");
    const size_t e = rest.find_last_of(">\"");
    const std::string header = b == std::string::npos || e == std::string::npos || e <= b ? rest : rest.substr(b + 1, e - b - 1);
    if (std::find(policy_.allowed_includes.begin(), policy_.allowed_includes.end(), header) ==
        policy_.allowed_includes.end()) {
      std::string allowed;
      for (const auto& h : policy_.allowed_includes) allowed += (allowed.empty() ? "" : ", ") + h;
      add(tok.line, "include", fmt::format("#include of '{}' is not allowed (allowed: {})", header, allowed));
    }
  }

  void check_directive(const CudaToken& tok) {
    const std::string& d = tok.text;
    const std::string word = d.substr(0, d.find_first_of(" \t<\"("));
    if (word == "include") return check_include(tok);
    if (word == "if" || word == "ifdef" || word == "ifndef" || word == "elif" || word == "else" || word == "endif") return;
    if (word == "pragma") {
      const std::string rest = d.substr(6);
      const size_t b = rest.find_first_not_of(" \t");
      if (b != std::string::npos && rest.compare(b, 6, "unroll") == 0) return;
      add(tok.line, "preprocessor", fmt::format("#{} is not allowed (only #pragma unroll)", d));
      return;
    }
    add(tok.line, "preprocessor",
        fmt::format("#{} is not allowed in a variant (macros can assemble names this check cannot see)", word));
  }

  void check_asm(size_t i) {
    size_t k = i + 1;
    while (is_ident(t_, k, "volatile") || is_ident(t_, k, "__volatile__") || is_ident(t_, k, "goto")) ++k;
    if (!is_punct(t_, k, "(")) {
      add(t_[i].line, "inline-asm", "asm without a parenthesised instruction string");
      return;
    }
    std::string body;
    for (size_t j = k + 1; j < t_.size() && t_[j].kind == CudaToken::String; ++j) body += t_[j].text;
    if (body.empty()) {
      add(t_[i].line, "inline-asm", "asm whose instructions are not a string literal");
      return;
    }
    for (const char* reg : {"%clock", "%globaltimer"})
      if (body.find(reg) != std::string::npos)
        add(t_[i].line, "timer", fmt::format("asm reads {}: timing belongs to the harness", reg));
    // Statements are separated by ';' (and "\n" written as an escape inside the literal).
    std::string flat;
    for (size_t c = 0; c < body.size(); ++c) {
      if (body[c] == '\\' && c + 1 < body.size() && (body[c + 1] == 'n' || body[c + 1] == 't')) {
        flat += ';';
        ++c;
      } else {
        flat += body[c];
      }
    }
    size_t start = 0;
    while (start <= flat.size()) {
      size_t end = flat.find(';', start);
      if (end == std::string::npos) end = flat.size();
      std::string stmt = flat.substr(start, end - start);
      start = end + 1;
      stmt.erase(std::remove_if(stmt.begin(), stmt.end(), [](char ch) { return ch == '{' || ch == '}'; }), stmt.end());
      size_t b = stmt.find_first_not_of(" \t");
      if (b == std::string::npos) continue;
      if (stmt[b] == '@') {  // a guard predicate: the instruction follows it
        const size_t space = stmt.find_first_of(" \t", b);
        if (space == std::string::npos) continue;
        b = stmt.find_first_not_of(" \t", space);
        if (b == std::string::npos) continue;
      }
      const std::string mnemonic = stmt.substr(b, stmt.find_first_of(" \t", b) - b);
      if (mnemonic.empty() || mnemonic[0] == '.') continue;  // .reg declarations
      if (mnemonic.back() == ':') continue;                  // labels
      bool allowed = false;
      for (const auto& a : policy_.allowed_asm)
        if (mnemonic.rfind(a, 0) == 0) allowed = true;
      if (!allowed) add(t_[i].line, "inline-asm", fmt::format("asm instruction '{}' is not in the allow-list", mnemonic));
    }
  }

  void check_atomic(size_t i) {
    const size_t close = matching(t_, i + 1);
    size_t end = i + 2;
    int depth = 0;
    for (; end < close; ++end) {
      if (is_punct(t_, end, "(") || is_punct(t_, end, "[")) ++depth;
      if (is_punct(t_, end, ")") || is_punct(t_, end, "]")) --depth;
      if (depth == 0 && is_punct(t_, end, ",")) break;
    }
    for (size_t k = i + 2; k < end; ++k)
      if (t_[k].kind == CudaToken::Ident && roots_.count(t_[k].text)) return;
    add(t_[i].line, "atomic-target",
        fmt::format("{} on '{}', which is not a parameter, a __shared__ array or a pointer derived from one",
                    t_[i].text, joined(t_, i + 2, end)));
  }

  void check_tokens() {
    // Brace depth inside function bodies, for `static` locals.
    std::vector<std::pair<size_t, size_t>> bodies;
    for (const FunctionDef& f : functions_) bodies.emplace_back(f.body_open, f.body_close);
    auto in_body = [&](size_t i) {
      for (const auto& [a, b] : bodies)
        if (i > a && i < b) return true;
      return false;
    };
    for (size_t i = 0; i < t_.size(); ++i) {
      const CudaToken& tok = t_[i];
      if (tok.kind == CudaToken::Directive) {
        check_directive(tok);
        continue;
      }
      if (tok.kind == CudaToken::Punct && tok.text == "##") {
        add(tok.line, "preprocessor", "token pasting (##) is not allowed");
        continue;
      }
      if (tok.kind != CudaToken::Ident) continue;
      const std::string& w = tok.text;
      const bool call = is_punct(t_, i + 1, "(");
      if (w == "std" && is_punct(t_, i + 1, "::")) {
        add(tok.line, "host-call", fmt::format("std::{} is the host standard library", i + 2 < t_.size() ? t_[i + 2].text : ""));
      } else if (kHostCalls.count(w) && (call || w == "new" || w == "delete")) {
        add(tok.line, "host-call", fmt::format("calls {}: host and library functions are not available to variants", w));
      } else if (host_library_name(w)) {
        add(tok.line, "host-call", fmt::format("uses {}: CUDA runtime, driver and library APIs belong to the harness", w));
      } else if (kTimers.count(w)) {
        add(tok.line, "timer", fmt::format("uses {}: timing belongs to the harness, and a variant has no use for it", w));
      } else if (w == "extern") {
        add(tok.line, "host-code", "extern declarations reach outside the variant");
      } else if (w == "static" && in_body(i)) {
        add(tok.line, "global-state", "static local variable: state that survives a call (a cached result) is not allowed");
      } else if (w == "asm" || w == "__asm__" || w == "__asm") {
        check_asm(i);
      } else if (w.rfind("atomic", 0) == 0 && call) {
        check_atomic(i);
      }
    }
  }

  const Tokens& t_;
  const VariantGuardPolicy& policy_;
  std::vector<FunctionDef> functions_;
  std::set<std::string> roots_;
  std::vector<GuardFinding> findings_;
};

}  // namespace

GuardReport check_variant(const std::string& source, const VariantGuardPolicy& policy) {
  const CudaLexResult lexed = lex_cuda(source);
  GuardReport r;
  for (const auto& [line, message] : lexed.errors) r.findings.push_back({line, "lexical", message});
  const std::vector<GuardFinding> more = Checker(lexed.tokens, policy).run();
  r.findings.insert(r.findings.end(), more.begin(), more.end());
  std::stable_sort(r.findings.begin(), r.findings.end(), [](const auto& a, const auto& b) { return a.line != b.line ? a.line < b.line : a.rule < b.rule; });
  return r;
}

}  // namespace tessera::agents

// Matching falls back from the JIT to the interpreter only through PCRE2 itself; a thread-
// local JIT stack sized for long whitespace runs (the GPT-2 pattern backtracks over them)
// avoids JIT stack-limit failures on megabyte inputs.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>

#include "core/error.h"

namespace tessera {

struct Regex::Impl {
  pcre2_code* code = nullptr;
  bool jit = false;
};

namespace {

std::string pcre2_message(int rc) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(rc, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

struct JitStack {
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, nullptr);
  ~JitStack() { pcre2_jit_stack_free(stack); }
};

}  // namespace

Regex::Regex(const std::string& pattern, const std::string& where, bool literal)
    : impl_(std::make_unique<Impl>()), pattern_(pattern), where_(where) {
  int err = 0;
  PCRE2_SIZE err_off = 0;
  uint32_t opts = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), opts,
                              &err, &err_off, nullptr);
  if (!impl_->code)
    fail("{}: regex '{}' does not compile at offset {}: {}", where, pattern, err_off,
         pcre2_message(err));
  impl_->jit = pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() {
  if (impl_ && impl_->code) pcre2_code_free(impl_->code);
}

std::vector<std::pair<size_t, size_t>> Regex::find_all(std::string_view s) const {
  thread_local JitStack jit_stack;
  std::vector<std::pair<size_t, size_t>> out;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  pcre2_match_context* mc = pcre2_match_context_create(nullptr);
  if (impl_->jit && jit_stack.stack) pcre2_jit_stack_assign(mc, nullptr, jit_stack.stack);
  auto cleanup = [&] {
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
  };
  auto subject = reinterpret_cast<PCRE2_SPTR>(s.data());
  size_t pos = 0;
  while (pos <= s.size()) {
    int rc = pcre2_match(impl_->code, subject, s.size(), pos, PCRE2_NO_UTF_CHECK, md, mc);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      cleanup();
      fail("{}: regex '{}' failed on the input: {}", where_, pattern_, pcre2_message(rc));
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t b = ov[0], e = ov[1];
    if (e > b) {
      out.emplace_back(b, e);
      pos = e;
    } else {  // empty match: step over one whole character
      if (b >= s.size()) break;
      pos = b + 1;
      while (pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
    }
  }
  cleanup();
  return out;
}

}  // namespace tessera

// A small lexer for CUDA C++ source, enough for token-level checks: comments dropped,
// string and character literals kept as single tokens (their text available, so asm
// strings can be read, but never mistaken for code), preprocessor directives kept whole as
// one token per logical line. It does not expand macros or know types.
#pragma once

#include <string>
#include <vector>

namespace tessera::agents {

struct CudaToken {
  enum Kind { Ident, Number, String, Char, Punct, Directive } kind;
  std::string text;  // String: the literal's contents; Directive: the line after '#', trimmed
  int line;          // 1-based line where the token starts
};

struct CudaLexResult {
  std::vector<CudaToken> tokens;
  std::vector<std::pair<int, std::string>> errors;  // (line, message): unterminated comments and literals
};

CudaLexResult lex_cuda(const std::string& source);

}  // namespace tessera::agents

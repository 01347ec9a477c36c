// The CUDA lexer (see cuda_tokens.h). Raw strings are handled because a model may use one
// for an asm body; digit separators (1'000) are part of numbers so they do not open a
// character literal.
#include "agents/cuda_tokens.h"

#include <cctype>

namespace tessera::agents {

namespace {

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

CudaLexResult lex_cuda(const std::string& s) {
  CudaLexResult out;
  int line = 1;
  bool line_start = true;  // only whitespace since the last newline
  size_t i = 0;
  const size_t n = s.size();
  auto push = [&](CudaToken::Kind k, std::string text, int at) {
    out.tokens.push_back({k, std::move(text), at});
    line_start = false;
  };
  while (i < n) {
    const char c = s[i];
    if (c == '\n') {
      ++line;
      ++i;
      line_start = true;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      ++i;
      continue;
    }
    if (c == '\\' && i + 1 < n && s[i + 1] == '\n') {  // line splice
      i += 2;
      ++line;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '/') {
      while (i < n && s[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      const int at = line;
      const size_t end = s.find("*/", i + 2);
      const size_t stop = end == std::string::npos ? n : end + 2;
      for (size_t k = i; k < stop; ++k)
        if (s[k] == '\n') ++line;
      if (end == std::string::npos) out.errors.emplace_back(at, "unterminated /* comment");
      i = stop;
      continue;
    }
    if (c == '#' && line_start) {
      const int at = line;
      std::string text;
      ++i;
      while (i < n && s[i] != '\n') {
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\n') {
          i += 2;
          ++line;
          text += ' ';
          continue;
        }
        if (s[i] == '/' && i + 1 < n && s[i + 1] == '/') {
          while (i < n && s[i] != '\n') ++i;
          break;
        }
        if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
          const size_t end = s.find("*/", i + 2);
          const size_t stop = end == std::string::npos ? n : end + 2;
          for (size_t k = i; k < stop; ++k)
            if (s[k] == '\n') ++line;
          i = stop;
          text += ' ';
          continue;
        }
        text += s[i++];
      }
      const size_t b = text.find_first_not_of(" \t");
      const size_t e = text.find_last_not_of(" \t\r");
      push(CudaToken::Directive, b == std::string::npos ? "" : text.substr(b, e - b + 1), at);
      continue;
    }
    if (ident_start(c)) {
      size_t j = i;
      while (j < n && ident_char(s[j])) ++j;
      std::string word = s.substr(i, j - i);
      const bool raw_prefix = word == "R" || word == "u8R" || word == "uR" || word == "UR" || word == "LR";
      if (raw_prefix && j < n && s[j] == '"') {
        const int at = line;
        const size_t open = s.find('(', j + 1);
        if (open == std::string::npos) {
          out.errors.emplace_back(at, "malformed raw string literal");
          i = n;
          continue;
        }
        std::string close(1, ')');  // )delim"
        close.append(s, j + 1, open - j - 1);
        close += '"';
        const size_t end = s.find(close, open + 1);
        const size_t stop = end == std::string::npos ? n : end + close.size();
        for (size_t k = i; k < stop; ++k)
          if (s[k] == '\n') ++line;
        if (end == std::string::npos) {
          out.errors.emplace_back(at, "unterminated raw string literal");
          i = n;
          continue;
        }
        push(CudaToken::String, s.substr(open + 1, end - open - 1), at);
        i = stop;
        continue;
      }
      push(CudaToken::Ident, std::move(word), line);
      i = j;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && i + 1 < n && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t j = i;
      while (j < n) {
        const char d = s[j];
        if (ident_char(d) || d == '.' || d == '\'') {
          ++j;
        } else if ((d == '+' || d == '-') && (s[j - 1] == 'e' || s[j - 1] == 'E' || s[j - 1] == 'p' || s[j - 1] == 'P')) {
          ++j;
        } else {
          break;
        }
      }
      push(CudaToken::Number, s.substr(i, j - i), line);
      i = j;
      continue;
    }
    if (c == '"' || c == '\'') {
      const int at = line;
      size_t j = i + 1;
      std::string text;
      bool closed = false;
      while (j < n && s[j] != '\n') {
        if (s[j] == '\\' && j + 1 < n) {
          text += s[j];
          text += s[j + 1];
          j += 2;
          continue;
        }
        if (s[j] == c) {
          closed = true;
          ++j;
          break;
        }
        text += s[j++];
      }
      if (!closed) out.errors.emplace_back(at, c == '"' ? "unterminated string literal" : "unterminated character literal");
      push(c == '"' ? CudaToken::String : CudaToken::Char, std::move(text), at);
      i = j;
      continue;
    }
    if (i + 1 < n) {
      const std::string two = s.substr(i, 2);
      if (two == "::" || two == "->" || two == "##") {
        push(CudaToken::Punct, two, line);
        i += 2;
        continue;
      }
    }
    push(CudaToken::Punct, std::string(1, c), line);
    ++i;
  }
  return out;
}

}  // namespace tessera::agents

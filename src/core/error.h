// Two error channels, as Halide keeps them apart:
//  - tessera::Error: the user's input is wrong or the environment failed (bad file,
//    unsupported dtype, prompt too long). The message names the object and the problem;
//    the CLI prints it and exits 1.
//  - TS_CHECK: an internal invariant broke (a Tessera bug). It throws InternalError with
//    the file and line so a bug never masquerades as a user error.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace tessera {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// Raised for malformed command lines; the CLI exits 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& msg) : Error(msg) {}
};

class InternalError : public std::logic_error {
 public:
  explicit InternalError(const std::string& msg) : std::logic_error(msg) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace tessera

#define TS_CHECK(cond, ...)                                                              \
  do {                                                                                   \
    if (!(cond))                                                                         \
      throw ::tessera::InternalError(::fmt::format("internal error at {}:{}: check '{}' " \
                                                   "failed: {}",                         \
                                                   __FILE__, __LINE__, #cond,            \
                                                   ::fmt::format(__VA_ARGS__)));         \
  } while (0)

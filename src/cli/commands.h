// The `tessera` subcommands. Each file cmd_<name>.cpp defines one subcommand and registers
// it with a static CommandRegistration, so adding a command touches no shared file.
// main.cpp owns error handling: usage errors exit 2, runtime failures exit 1; a command
// may throw ExitCode to end with another status (e.g. validate's 3 for a rejected plan).
#pragma once

#include <CLI/CLI.hpp>

namespace tessera::cli {

using AddCommand = void (*)(CLI::App& app);

// `order` sorts commands in --help (lower first).
struct CommandRegistration {
  CommandRegistration(int order, AddCommand add);
};

void add_registered_commands(CLI::App& app);

// Thrown by a command to exit with `code` after printing what it printed.
struct ExitCode {
  int code;
};

}  // namespace tessera::cli

// The `tessera` subcommands. Each file cmd_<name>.cpp registers one subcommand; main.cpp
// owns error handling: usage errors exit 2, runtime failures exit 1.
#pragma once

#include <CLI/CLI.hpp>

namespace tessera::cli {

void add_generate(CLI::App& app);
void add_logits(CLI::App& app);
void add_tokenize(CLI::App& app);
void add_make_model(CLI::App& app);
void add_info(CLI::App& app);
void add_demo(CLI::App& app);

}  // namespace tessera::cli

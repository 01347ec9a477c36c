// tessera agent: the JSON-lines surface for outside coding agents. Reads one request per
// line on stdin until EOF and writes one response per line on stdout, flushed at once so an
// agent holding a pipe sees each answer immediately. The work is handle_agent_request()
// in src/agents/agent_protocol.h; schema in docs/AGENTS.md.
#include "agents/agent_protocol.h"
#include "cli/commands.h"

#include <cstdio>
#include <iostream>
#include <string>

namespace tessera::cli {

namespace {

void add_agent(CLI::App& app) {
  auto* cmd = app.add_subcommand("agent", "Serve JSON-lines requests from an outside coding agent on stdin/stdout");
  cmd->callback([] {
    std::ios::sync_with_stdio(false);
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string out = agents::handle_agent_request(line).dump();
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
    }
  });
}

const CommandRegistration kRegistered(90, add_agent);

}  // namespace

}  // namespace tessera::cli

// tessera agent: the surface for outside coding agents. Reads one message per line on stdin
// until EOF and writes one response per line on stdout, flushed at once so an agent holding
// a pipe sees each answer immediately. JSON lines by default (handle_agent_request), MCP
// over stdio with --mcp (handle_mcp_line); both serve the same operation table, with the
// store-backed operations when --db names a tuning database, and the variant library's
// (variants/variant_ops.h) always. Schema in docs/AGENTS.md.
#include "agents/agent_protocol.h"
#include "agents/mcp_server.h"
#include "cli/commands.h"
#include "search/agent_session.h"
#include "search/store.h"
#include "variants/variant_ops.h"

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

namespace tessera::cli {

namespace {

void add_agent(CLI::App& app) {
  struct Opts {
    std::string db;
    bool mcp = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("agent", "Serve an outside coding agent on stdin/stdout (JSON lines, or MCP with --mcp)");
  cmd->add_option("--db", o->db, "Tuning database for propose/evaluate/leaderboard/logs (one `tessera tune` wrote)");
  cmd->add_flag("--mcp", o->mcp, "Speak MCP (JSON-RPC 2.0 over stdio) instead of JSON lines");
  cmd->callback([o] {
    std::unique_ptr<TuneStore> store;
    if (!o->db.empty()) store = std::make_unique<TuneStore>(o->db, false);
    agents::AgentOpTable extra = variants::variant_ops();
    if (store) extra.merge(agent_session_ops(*store));
    const agents::AgentOpTable ops = agents::agent_ops(extra);
    std::ios::sync_with_stdio(false);
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string out;
      if (o->mcp) {
        auto r = agents::handle_mcp_line(line, ops);
        if (!r) continue;
        out = r->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      } else {
        out = agents::handle_agent_request(line, ops).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
    }
  });
}

const CommandRegistration kRegistered(90, add_agent);

}  // namespace

}  // namespace tessera::cli

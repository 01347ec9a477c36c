// tessera agent: the surface for outside coding agents. Reads one message per line on stdin
// until EOF and writes one response per line on stdout, flushed at once so an agent holding
// a pipe sees each answer immediately. JSON lines by default (handle_agent_request), MCP
// over stdio with --mcp (handle_mcp_line); both serve the same operation table, with the
// store-backed operations when --db names a tuning database, and the variant library's
// (variants/variant_ops.h) always. With --measure gpu (CUDA builds) an evaluate verifies
// the candidate against the CPU reference on the GPU and times it, as `tune --measure gpu`
// does, with one measurer per tuned model and position, built on the first evaluate that
// needs it. Schema in docs/AGENTS.md.
#include "agents/agent_protocol.h"
#include "agents/mcp_server.h"
#include "cli/commands.h"
#include "cli/gpu_tuning_measurer.h"
#include "core/error.h"
#include "search/agent_session.h"
#include "search/store.h"
#include "variants/variant_ops.h"

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <utility>

namespace tessera::cli {

namespace {

void add_agent(CLI::App& app) {
  struct Opts {
    std::string db;
    bool mcp = false;
    std::string measure = "model";
    int gpu_steps = 50;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("agent", "Serve an outside coding agent on stdin/stdout (JSON lines, or MCP with --mcp)");
  cmd->add_option("--db", o->db, "Tuning database for propose/evaluate/leaderboard/logs (one `tessera tune` wrote)");
  cmd->add_flag("--mcp", o->mcp, "Speak MCP (JSON-RPC 2.0 over stdio) instead of JSON lines");
  cmd->add_option("--measure", o->measure,
                  "model: evaluate predicts costs (default); gpu: evaluate verifies each candidate against the CPU "
                  "reference on the GPU and times it (CUDA builds)")
      ->check(CLI::IsMember({"model", "gpu"}));
  cmd->add_option("--gpu-steps", o->gpu_steps, "--measure gpu: timed repetitions per candidate")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->callback([o] {
    if (o->measure == "gpu" && o->db.empty()) throw UsageError("agent --measure gpu: give --db FILE (evaluate needs a run)");
#ifndef TESSERA_HAVE_CUDA
    if (o->measure == "gpu") fail("agent --measure gpu: this tessera was built without a CUDA toolkit");
#endif
    std::unique_ptr<TuneStore> store;
    if (!o->db.empty()) store = std::make_unique<TuneStore>(o->db, false);
    agents::AgentOpTable extra = variants::variant_ops();
    // One measurer per (model, position): a database may hold runs of several.
    auto measurers = std::make_shared<std::map<std::pair<std::string, int64_t>, std::unique_ptr<GpuTuningMeasurer>>>();
    MeasurerForRun measurer_for_run;
    if (o->measure == "gpu")
      measurer_for_run = [o, measurers](const RunRecord& run, const EvalSettings& eval) -> Measurer* {
        auto str = [&](const char* k) {
          return run.settings.contains(k) && run.settings[k].is_string() ? run.settings[k].get<std::string>() : std::string();
        };
        const std::string shape = str("shape"), path = str("model_path");
        auto& m = (*measurers)[{shape.empty() ? path : "shape:" + shape, eval.position}];
        if (!m) m = make_gpu_tuning_measurer(shape, path, eval.position, o->gpu_steps, "agent");
        return &m->measurer();
      };
    if (store) extra.merge(agent_session_ops(*store, measurer_for_run));
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

// tessera inspect: what a plan asks of the machine: load per block, opcode mix, counter
// traffic and a predicted step time. The prediction is a bandwidth model (decode is
// memory bound), so its one assumption, the bandwidth, is printed beside the number.
#include <algorithm>
#include <numeric>

#include "cli/commands.h"
#include "core/error.h"
#include "plan/plan_json.h"
#include "plan/plan_stats.h"

namespace tessera::cli {
namespace {

constexpr double kAssumedBandwidth = 3.35e12;  // bytes/s: H100 SXM HBM3 peak

struct MinMeanMax {
  int64_t min = 0, max = 0;
  double mean = 0;
};

MinMeanMax summarize(const std::vector<int64_t>& v) {
  MinMeanMax s;
  if (v.empty()) return s;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  s.mean = double(std::accumulate(v.begin(), v.end(), 0.0)) / double(v.size());
  return s;
}

void add_inspect(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto pos = std::make_shared<int64_t>(0);
  auto* cmd = app.add_subcommand("inspect", "Summarise a plan: load per block, opcodes, counters, predicted critical path");
  cmd->add_option("plan", *path, "Plan JSON (tessera compile --out)")->required();
  cmd->add_option("--pos", *pos, "Token position for the KV-cache bytes attention streams")->capture_default_str();
  cmd->callback([path, pos] {
    Plan plan = load_plan(*path);
    if (*pos < 0 || *pos >= plan.context)
      throw UsageError(fmt::format("--pos {} outside the plan's context [0, {})", *pos, plan.context));
    const size_t blocks = plan.queues.size();
    const double per_block = kAssumedBandwidth / double(std::max<size_t>(blocks, 1));
    PlanStats st = plan_stats(plan, per_block, *pos, *path);

    fmt::print("plan:      {} ({}), target {} ({} SMs), context {}\n", *path, plan.model, plan.target.arch,
               plan.target.sms, plan.context);
    fmt::print("totals:    {} tasks, {} blocks, {} counters, {} buffers\n", plan.tasks.size(), blocks,
               plan.counters.size(), plan.buffers.size());
    MinMeanMax t = summarize(st.tasks_per_block);
    fmt::print("tasks per block:        min {}, mean {:.1f}, max {}\n", t.min, t.mean, t.max);
    MinMeanMax w = summarize(st.weight_bytes_per_block);
    fmt::print("weight bytes per block: min {}, mean {:.0f}, max {} (imbalance max/mean {:.3f})\n", w.min, w.mean,
               w.max, w.mean > 0 ? double(w.max) / w.mean : 0.0);
    fmt::print("tasks per opcode:\n");
    for (int i = 0; i < kNumOps; ++i)
      if (st.tasks_per_op[size_t(i)] > 0) fmt::print("  {:16} {}\n", op_name(Op(i)), st.tasks_per_op[size_t(i)]);
    fmt::print("counters:  {} counters, {} waits, {} signals, at most {} waits on one counter\n",
               plan.counters.size(), st.waits, st.signals, st.max_waiters_per_counter);
    fmt::print("assumption: {:.2f} TB/s of memory bandwidth shared by {} blocks ({:.1f} GB/s each); a task costs "
               "the weight and KV-cache bytes it streams (KV at pos {})\n",
               kAssumedBandwidth / 1e12, blocks, per_block / 1e9, *pos);
    fmt::print("predicted bandwidth floor:  {:.1f} us (all weight bytes / {:.2f} TB/s)\n",
               double(st.total_weight_bytes) / kAssumedBandwidth * 1e6, kAssumedBandwidth / 1e12);
    if (st.critical_path_s < 0)
      fmt::print("predicted critical path:    none (dependencies form a cycle or a wait is unsatisfiable; run tessera validate)\n");
    else
      fmt::print("predicted critical path:    {:.1f} us over {} tasks ({:.0f} tokens/s)\n", st.critical_path_s * 1e6,
                 st.critical_path_tasks, st.critical_path_s > 0 ? 1.0 / st.critical_path_s : 0.0);
  });
}

const CommandRegistration kRegistered(62, add_inspect);

}  // namespace
}  // namespace tessera::cli

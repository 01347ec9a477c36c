// The matvec kinds are told apart by the canonical weight name (model.h) the task streams,
// since one fused opcode serves q/k/v, o, gate/up and down: the name is what the lowering
// guarantees, the order of tasks in the plan is not.
#include "search/instruction_kinds.h"

#include <memory>
#include <mutex>
#include <set>

#include "core/error.h"
#include "plan/lower.h"

namespace tessera {

const std::vector<InstructionKind>& instruction_kinds() {
  // fuse_norm moves the norm into the prologues of the q/k/v, gate/up and LM head tiles,
  // fold_attention moves attention into the o tiles: their kinds' times include those tiles.
  static const std::vector<InstructionKind> kinds = {
      {"qkv", {"qkv_heads_per_task", "qkv_head_parts", "qkv_prefetch_kib"}, {"qkv"}},
      {"o", {"o_rows_per_task", "o_prefetch"}, {"o"}},
      {"gate_up", {"gate_up_rows_per_task", "gate_up_prefetch_kib"}, {"gate_up"}},
      {"down", {"down_rows_per_task", "down_prefetch_kib"}, {"down"}},
      {"lm_head", {"lm_rows_per_task"}, {"lm_head"}},
      {"attention", {"kv_splits", "fold_attention"}, {"attention", "o"}},
      {"norm", {"fuse_norm"}, {"norm", "qkv", "gate_up", "lm_head"}},
      {kScheduleKind, {"sms", "pipeline_stages", "threads", "rows_per_warp", "queue_order", "counter_granularity"}, {}},
  };
  return kinds;
}

std::string task_kind(const Plan& plan, const Task& t) {
  switch (t.op) {
    case Op::Embed: return "";
    case Op::RmsNorm: return "norm";
    case Op::AttnPartial:
    case Op::AttnCombine: return "attention";
    case Op::LmHeadArgmax:
    case Op::ArgmaxReduce: return "lm_head";
    case Op::NormMatvec:
    case Op::AttnMatvec: break;  // attention folded into the o projection: an "o" tile
  }
  if (t.p.w < 0 || size_t(t.p.w) >= plan.buffers.size()) fail("task {}: matvec without a weight buffer", t.id);
  const std::string& w = plan.buffers[size_t(t.p.w)].weight;
  auto has = [&](const char* part) { return w.find(part) != std::string::npos; };
  if (has(".q_proj.") || has(".k_proj.") || has(".v_proj.")) return "qkv";
  if (has(".o_proj.")) return "o";
  if (has(".gate_proj.") || has(".up_proj.")) return "gate_up";
  if (has(".down_proj.")) return "down";
  fail("task {}: matvec over weight '{}', which belongs to no instruction kind", t.id, w);
}

ResourceUse resource_use(const Plan& plan) {
  ResourceUse u;
  u.smem_bytes = plan.resources.smem_bytes;
  u.regs_per_thread = plan.resources.regs_per_thread;
  u.threads = plan.resources.threads;
  std::map<std::string, std::set<int32_t>> blocks_of;
  for (size_t b = 0; b < plan.queues.size(); ++b) {
    if (plan.queues[b].empty()) continue;
    u.blocks += 1;
    for (int32_t id : plan.queues[b]) {
      if (id < 0 || size_t(id) >= plan.tasks.size()) fail("queue {}: task {} is not in the plan", b, id);
      std::string kind = task_kind(plan, plan.tasks[size_t(id)]);
      if (!kind.empty()) blocks_of[kind].insert(int32_t(b));
    }
  }
  for (const InstructionKind& k : instruction_kinds()) u.kind_blocks[k.name] = 0;
  u.kind_blocks[kScheduleKind] = u.blocks;
  for (const auto& [kind, blocks] : blocks_of) u.kind_blocks[kind] = int32_t(blocks.size());
  return u;
}

ResourceProbe lowering_resource_probe(const EvalSettings& s, const KnobSpace& space) {
  struct Memory {
    std::mutex mu;
    std::map<std::string, ResourceUse> known;
  };
  auto memory = std::make_shared<Memory>();
  return [memory, s, space](const KnobSet& k) {
    const std::string key = knob_set_text(k);
    {
      std::lock_guard<std::mutex> lock(memory->mu);
      auto it = memory->known.find(key);
      if (it != memory->known.end()) return it->second;
    }
    ResourceUse u = resource_use(lower(s.model, s.target, space.to_config(k), s.context, s.model_label));
    std::lock_guard<std::mutex> lock(memory->mu);
    memory->known[key] = u;
    return u;
  };
}

}  // namespace tessera

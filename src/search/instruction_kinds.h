// Instruction kinds: the unit the Pareto policy (policy_pareto.cpp) tunes on its own, in
// the manner of hierarchical autotuning: each kind's knobs are varied with the rest held,
// its variations kept as a front of time against the resources they occupy, and fronts
// composed afterwards. A kind names the knobs that shape its tasks (tile sizes, and the L2
// prefetch hints of the o and gate/up tiles) and, through task_kind, the tasks of a lowered
// plan it covers, so what a candidate occupies is read off its plan per kind rather than
// guessed from knob values (lowering's "0: choose" decides tiles).
// The schedule kind holds the knobs that shape every instruction at once (blocks, pipeline
// depth, queue order, counter granularity); it covers the whole plan.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "search/evaluate.h"
#include "search/knob_space.h"

namespace tessera {

struct InstructionKind {
  std::string name;                // "qkv", "o", "gate_up", "down", "lm_head", "attention", "norm", "schedule"
  std::vector<std::string> knobs;  // knob_space.h keys; every searchable knob is in exactly one kind
  // The task kinds (task_kind) whose time its knobs move: its time axis (kind_times.h).
  // Empty: the whole step (the schedule kind).
  std::vector<std::string> covers;
};
const std::vector<InstructionKind>& instruction_kinds();
inline constexpr const char* kScheduleKind = "schedule";

// The kind whose knobs shape task t: by opcode, and for the fused matvec by the weight it
// streams. "" for tasks no searchable knob tiles (embed).
std::string task_kind(const Plan& plan, const Task& t);

// What a plan occupies: per block (shared memory, registers, threads, from the instruction
// variants' Resources) and across the GPU (blocks with work, and per kind the blocks that
// run its tasks). These are the resource axes of the Pareto fronts.
struct ResourceUse {
  int64_t smem_bytes = 0;
  int32_t regs_per_thread = 0;
  int32_t threads = 0;
  int32_t blocks = 0;                          // queues holding at least one task
  std::map<std::string, int32_t> kind_blocks;  // kind -> queues holding at least one of its tasks
};
ResourceUse resource_use(const Plan& plan);

// A knob set -> what its plan for the tuned model occupies. Throws tessera::Error when the
// knob set does not lower.
using ResourceProbe = std::function<ResourceUse(const KnobSet&)>;
// Lowers the knob set exactly as the ladder does (evaluate.h) and reads resource_use off
// the plan; remembers every answer (a front is rebuilt from the tree at every step, and
// lowering a 1b plan takes tens of milliseconds). Copies share the memory.
ResourceProbe lowering_resource_probe(const EvalSettings& s, const KnobSpace& space);

}  // namespace tessera

// The soundness oracle: labels a plan safe or unsafe by ABSTRACT execution (counters and
// element regions only, no arithmetic) over many legal interleavings of its blocks. It is
// the ground truth the static validator is judged against (tessera fuzz-validator), so it
// deliberately shares no logic with src/validate/: it never reasons about thresholds,
// producers or graphs, it just runs the plan and watches.
//
// What an execution tracks, per position `pos` of the step:
//  - which elements of every writable buffer hold data (state rows < pos at entry);
//  - happens-before as vector clocks: program order within a block, and a satisfied wait
//    acquires the clocks of every signal applied to its counter so far (atomic adds form one
//    release sequence, so that is exactly what the hardware guarantees);
//  - every access, so two conflicting accesses unordered by those clocks are a race.
// Unsafe: malformed structure (checked before running, so no input can crash it), deadlock,
// race, uninitialised read, write to read-only data, output not fully written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plan/plan.h"

namespace tessera::soundness {

struct OracleOptions {
  int interleavings = 24;            // random schedules per position
  size_t exhaustive_max_tasks = 12;  // plans this small are explored by DFS over all schedules
  size_t exhaustive_max_paths = 20000;  // DFS leaves before giving up on exhaustiveness
  uint64_t seed = 1;
  std::vector<int64_t> positions;    // empty: 0, 1 and context-1 (those that exist)
  size_t max_tracked_elements = size_t(1) << 26;  // larger plans are skipped, not judged
};

struct OracleVerdict {
  bool unsafe = false;
  bool skipped = false;      // too large to judge (counted apart by the suite)
  std::string problem;       // "malformed", "deadlock", "race", "uninitialized",
                             // "readonly-write", "state-write", "output"
  std::string detail;        // one line naming tasks, blocks, buffer
  int64_t pos = -1;          // the position it was found at
  size_t executions = 0;     // complete or deadlocked schedules run
  bool exhaustive = false;   // every schedule was explored
};

OracleVerdict judge_plan(const Plan& plan, const OracleOptions& options = {});

}  // namespace tessera::soundness

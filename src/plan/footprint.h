// What each opcode reads and writes, as a function of its parameters and the buffers'
// shapes: the one definition of an instruction's memory footprint. The lowering fills
// Task::reads/writes from it, the validator checks declared regions equal it, and the
// emulator and CUDA backend touch exactly these elements (their tests check that).
#pragma once

#include <vector>

#include "plan/plan.h"

namespace tessera {

struct Footprint {
  std::vector<Region> reads, writes;
};

// Throws tessera::Error naming the task, its opcode and the offending operand when the
// parameters do not fit the opcode (missing or out-of-range buffer ids, wrong dtype or
// rank, rows outside the output, head-misaligned tiles, zero chunk, ...). Never reads
// outside the plan's vectors, whatever the input.
Footprint footprint(const Plan& plan, const Task& task);

// Region helpers.
Interval fixed(int64_t lo, int64_t hi);          // [lo, hi), independent of pos
Region whole(const Plan& plan, int32_t buf);     // every element of a buffer

}  // namespace tessera

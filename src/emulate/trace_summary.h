// Where a step's time went, from a timeline (TraceRecorder events of one step): the answer
// to "why is this step N times its floor" without opening a trace viewer. Tasks are grouped
// into stages (an opcode and the counter its tasks signal, minus the group suffix: e.g.
// norm_matvec:l3.qkv), listed in the order they started, each with its span, its tasks'
// median and slowest run time, and the gap since the previous stage ended: the price of a
// dependency (counter round trip plus the block's turn-around). Where the instruction marks
// its phases (the GPU's trace), each task's run splits into input (waits met .. its input in
// shared memory), body (.. its rows computed) and tail (.. signalled), medians per stage.
// Per opcode: run and wait totals. Per block: busy, waiting and idle fractions of the step.
#pragma once

#include <string>
#include <vector>

#include "emulate/trace.h"
#include "plan/plan.h"

namespace tessera {

struct StageTime {
  std::string name;
  int tasks = 0;
  double start_us = 0, end_us = 0;   // first task ready .. last task done
  double median_run_us = 0, max_run_us = 0;
  double gap_us = 0;                 // start - end of the previous stage (negative: overlap)
  // Medians over the stage's tasks that mark the phase; -1: none does. Body runs from the
  // input mark to the body mark, or to the end when only the input is marked.
  double median_input_us = -1, median_body_us = -1, median_tail_us = -1;
};

struct StepTimeline {
  double span_us = 0;                // first task turned .. last task done
  double busy = 0, waiting = 0;      // fractions of blocks x span spent running / waiting
  std::vector<StageTime> stages;     // in order of start
  std::string to_text() const;       // tables for people
};

// Throws tessera::Error when an event names a task outside the plan.
StepTimeline summarize_step(const Plan& plan, const std::vector<TraceRecorder::Event>& events);

}  // namespace tessera

// Shadow state of the buffers a step writes: for every element of activation and output
// buffers, and for row `pos` of every state buffer, the task that last wrote it and the
// tasks that read it since (those not already ordered before a later reader). Each access a
// task makes (its footprint, which the twins touch exactly) is checked against it with the
// step's happens-before (happens_before.h):
//   - a read of an element nobody wrote this step and that was not initialised at step
//     entry is an "uninitialized read";
//   - a read not ordered after the last write, a write not ordered after the last write or
//     after every read since, is a race naming both tasks, the buffer and the element.
// Weights, constants and inputs are read-only in a step and need no shadow; state rows
// below pos are initialised and never written in a step, so only row pos is tracked.
//
// Read sets are interned (elements with the same history share one entry) so a region read
// by every block costs one table entry, not one vector per element. Histories are kept as
// runs (consecutive elements with the same writer and read set share one entry), so an
// access costs its number of runs, not of elements: a 1B step's reads touch ~29 million
// elements but a few hundred thousand runs, and these checks run one at a time however
// many workers the emulator has.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "emulate/happens_before.h"
#include "plan/footprint.h"
#include "plan/plan.h"

namespace tessera {

class ShadowState {
 public:
  ShadowState(const Plan& plan, const HappensBefore& hb);

  void begin_step(int64_t step, int64_t pos);
  // Checks and records the reads, then the writes, of task `task` (which has started).
  // Throws tessera::Error on an uninitialized read or a race.
  void access(int32_t task, const Footprint& f);
  // Throws tessera::Error naming the first output element no task wrote this step.
  void check_outputs() const;

 private:
  struct Cell {
    int32_t writer = -1;  // task id, -1: not written this step
    int32_t readers = 0;  // index into read_sets_ (0: none since the last write)
    bool operator==(const Cell&) const = default;
  };
  struct Run {
    int64_t begin;  // first element; the run ends where the next begins (or at size)
    Cell cell;
  };
  struct Tracked {
    bool tracked = false;
    bool state = false;       // only row pos is tracked (the runs cover one row)
    int64_t row_elems = 0;    // state: elements per row
    int64_t size = 0;         // elements the runs cover
    std::vector<Run> runs;    // sorted by begin, covering [0, size)
  };

  void read(int32_t task, const Region& r);
  void write(int32_t task, const Region& r);
  // Index of the run that begins at `at` (splitting the one containing it); runs.size() at the end.
  static size_t split(Tracked& tb, int64_t at);
  // Merges equal neighbours among runs [i0 - 1, i1].
  static void coalesce(Tracked& tb, size_t i0, size_t i1);
  // Applies a read (write) by `task` to elements [lo, lo + len) of tb's runs; flat0 is the
  // buffer element of lo, for messages.
  void read_span(int32_t task, const Region& r, Tracked& tb, int64_t lo, int64_t len, int64_t flat0);
  void write_span(int32_t task, const Region& r, Tracked& tb, int64_t lo, int64_t len, int64_t flat0);
  int32_t add_reader(int32_t set, int32_t task);
  std::string task_name(int32_t task) const;
  std::string element_name(int32_t buf, int64_t flat) const;
  std::string region_name(const Region& r) const;
  [[noreturn]] void race(int32_t task, const char* access, int32_t other, const char* other_access,
                         const Region& r, int64_t flat) const;

  const Plan& plan_;
  const HappensBefore& hb_;
  int64_t step_ = 0, pos_ = 0;
  std::vector<Tracked> bufs_;
  std::vector<std::vector<int32_t>> read_sets_;  // [0] = {}
  std::unordered_map<uint64_t, int32_t> add_memo_;  // (set, task) -> set
};

}  // namespace tessera

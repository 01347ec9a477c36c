// The validator's passes and what they share. validate.cpp runs them as a flat list in
// order: the local checks (structure, resources, footprints, satisfiable) first, because
// every graph analysis after them trusts ids, regions and thresholds; then deadlock
// (which yields the execution order the clocks are built in); then happens-before, races,
// partial thresholds, initialisation and outputs. Each pass only appends diagnostics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "validate/validate.h"

namespace tessera::validate {

// Collects diagnostics up to a cap; passes stop early once it is full.
class Sink {
 public:
  explicit Sink(size_t max_errors) : max_(max_errors == 0 ? 1 : max_errors) {}
  void add(Diagnostic d) {
    if (errors_.size() < max_) errors_.push_back(std::move(d));
  }
  void add(std::string rule, std::string message, std::vector<int32_t> tasks = {},
           int32_t counter = -1, int32_t buffer = -1) {
    add(Diagnostic{std::move(rule), std::move(message), std::move(tasks), counter, buffer, {}});
  }
  bool full() const { return errors_.size() >= max_; }
  size_t count() const { return errors_.size(); }
  std::vector<Diagnostic>& errors() { return errors_; }

 private:
  size_t max_;
  std::vector<Diagnostic> errors_;
};

// One producer of a counter: a task and the sum of its increments on that counter.
struct Producer {
  int32_t task;
  int64_t inc;
};

// Facts derived once a plan is structurally sound.
struct Facts {
  std::vector<int32_t> queue_index;             // task -> position in its queue
  std::vector<std::vector<Producer>> producers;  // counter -> producers, by task id
  std::vector<int64_t> totals;                   // counter -> increments per step (E)
  std::vector<int32_t> order;                    // tasks in one legal execution order
  std::vector<int32_t> order_index;              // task -> position in `order`
  // Vector clocks: clock(t)[b] = how many tasks of block b happen before or at t.
  size_t blocks = 0;
  std::vector<int32_t> clocks;  // tasks x blocks
  const int32_t* clock(int32_t t) const { return clocks.data() + size_t(t) * blocks; }
  // a happens before b (a != b).
  bool before(const Plan& plan, int32_t a, int32_t b) const {
    return clock(b)[plan.tasks[size_t(a)].sm] > queue_index[size_t(a)];
  }
};

// "producers: task 3 +1, task 4 +1" (at most four, then a count).
std::string producer_list(const std::vector<Producer>& ps);  // satisfiable.cpp

// Local checks (each on every element, independent of the others).
void check_structure(const Plan& plan, Sink& sink);        // structure.cpp
void check_resources(const Plan& plan, Sink& sink);        // resources.cpp
void check_footprints(const Plan& plan, Sink& sink);       // footprints.cpp
Facts derive_facts(const Plan& plan);                      // facts.cpp (needs sound structure)
void check_satisfiable(const Plan& plan, const Facts& facts, Sink& sink);  // satisfiable.cpp

// Graph analyses on a sound plan.
// Fills facts.order; returns false (after a diagnostic with the cycle) when some tasks can
// never run.
bool check_deadlock(const Plan& plan, Facts& facts, Sink& sink);           // deadlock.cpp
void compute_clocks(const Plan& plan, Facts& facts);                       // happens_before.cpp
void check_partial_thresholds(const Plan& plan, const Facts& facts, Sink& sink);  // partial.cpp
void check_races(const Plan& plan, const Facts& facts, Sink& sink);        // races.cpp
void check_initialized(const Plan& plan, const Facts& facts, Sink& sink);  // initialized.cpp
void check_outputs(const Plan& plan, Sink& sink);                          // outputs.cpp

}  // namespace tessera::validate

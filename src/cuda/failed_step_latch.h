// A GPU engine whose step failed (a watchdog report, a CUDA error) cannot run another: its
// device state (counters, caches, a half-run step) no longer matches what the host
// believes. Both engines (the megakernel's PlanRunner, the ops baselines) hold one latch:
// run() the step's host calls through it, check() before the next step.
#pragma once

#include <string>

#include "core/error.h"

namespace tessera {

class FailedStepLatch {
 public:
  // Runs f; an Error from it closes the latch and propagates.
  template <class F>
  void run(F&& f) {
    try {
      f();
    } catch (const Error& e) {
      failed_ = true;
      why_ = e.what();
      throw;
    }
  }
  // Throws naming `engine` and the first failure once the latch is closed.
  void check(const char* engine) const {
    if (failed_) fail("{}: an earlier step failed ({}); build a new engine", engine, why_);
  }

 private:
  bool failed_ = false;
  std::string why_;
};

}  // namespace tessera

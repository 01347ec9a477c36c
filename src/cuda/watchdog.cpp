// The watchdog's message: see watchdog.h. Never trusts the record's indices.
#include "cuda/watchdog.h"

#include <fmt/format.h>

namespace tessera::cuda {

std::string watchdog_message(const Plan& plan, const WatchdogReport& r) {
  std::string task = fmt::format("task {}", r.task);
  if (r.task >= 0 && size_t(r.task) < plan.tasks.size())
    task += fmt::format(" ({})", op_name(plan.tasks[size_t(r.task)].op));
  std::string counter = fmt::format("counter {}", r.counter);
  if (r.counter >= 0 && size_t(r.counter) < plan.counters.size())
    counter = fmt::format("counter '{}'", plan.counters[size_t(r.counter)].name);
  return fmt::format("watchdog: block {} {} waited {:.1f} s on {} (value {}, needs {})", r.block,
                     task, double(r.waited_ns) * 1e-9, counter, r.value, r.needed);
}

}  // namespace tessera::cuda

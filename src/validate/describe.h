// How diagnostics name things, in one place so every message reads the same way:
// "task 5 (block 1, norm_matvec)", "buffer 'x.0' [0:8, 2:4]", "counter 'l0.qkv'".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "plan/plan.h"

namespace tessera::validate {

// "task 5 (block 1, norm_matvec)". Safe on any task id and sm.
std::string task_label(const Plan& plan, int32_t task);
// "counter 'name'" or "counter 7" when out of range.
std::string counter_label(const Plan& plan, int32_t counter);
// "'name'" of a buffer, or "7" when out of range.
std::string buffer_name(const Plan& plan, int32_t buf);
// "[lo:hi, lo:hi]" with the bounds evaluated at `pos`.
std::string box_text(const Region& r, int64_t pos);
// "buffer 'x' [0:8]", adding " at pos P" when the region depends on pos.
std::string region_text(const Plan& plan, const Region& r, int64_t pos);
bool depends_on_pos(const Region& r);

}  // namespace tessera::validate

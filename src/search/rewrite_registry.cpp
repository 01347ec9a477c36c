// The one place rewrite names map to functions, and the gate every rewritten plan passes:
// the static validator. A rewrite that throws (parameters a footprint refuses) or yields a
// plan the validator rejects proposes nothing; the reason goes to the caller for its log.
#include <fmt/format.h>

#include "core/error.h"
#include "search/rewrite.h"
#include "validate/validate.h"

namespace tessera {

std::vector<std::string> rewrite_names() { return {"rebalance", "reorder", "retile", "split_kv"}; }

std::optional<RewriteOutcome> apply_rewrite(const std::string& name, const Plan& plan, const RewriteParams& rp,
                                            std::string* why) {
  auto say = [&](std::string s) {
    if (why) *why = std::move(s);
  };
  RewriteOutcome (*fn)(const Plan&, const RewriteParams&) = nullptr;
  if (name == "rebalance") fn = rewrite_rebalance;
  else if (name == "reorder") fn = rewrite_reorder;
  else if (name == "retile") fn = rewrite_retile;
  else if (name == "split_kv") fn = rewrite_split_kv;
  else fail("unknown rewrite '{}' (available: {})", name, fmt::join(rewrite_names(), ", "));
  RewriteOutcome r;
  try {
    r = fn(plan, rp);
  } catch (const Error& e) {
    say(fmt::format("{}: {}", name, e.what()));
    return std::nullopt;
  }
  if (!r.changed) {
    say(fmt::format("{}: nothing to change in this plan", name));
    return std::nullopt;
  }
  ValidationReport vr = validate_plan(r.plan);
  if (!vr.ok()) {
    say(fmt::format("{}: the validator rejected the result: {}: {}", name, vr.errors.front().rule,
                    vr.errors.front().message));
    return std::nullopt;
  }
  say("");
  return r;
}

}  // namespace tessera

// The suite driver (suite.h): generation, the two verdicts, per-class statistics.
#include "soundness/suite.h"

#include <fmt/format.h>

#include <chrono>

#include "core/error.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "soundness/mutations.h"
#include "soundness/random_plans.h"
#include "validate/validate.h"

namespace tessera::soundness {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string first_diagnostic(const ValidationReport& r) {
  if (r.ok()) return "accepted";
  return fmt::format("{}: {}", r.errors[0].rule, r.errors[0].message);
}

}  // namespace

std::vector<std::pair<std::string, Plan>> base_plans() {
  struct Spec {
    std::string shape;
    int sms;
    std::vector<std::string> knobs;
  };
  // Small shapes and context keep the oracle fast; the knobs vary the structure the
  // mutations find (split-KV combine tasks, rmsnorm tasks, one counter per op; attention
  // folded into the o projection, the default at this context, or in tasks of its own).
  const std::vector<Spec> specs = {
      {"tiny", 4, {}},
      {"tiny", 8, {"kv_splits=2", "fold_attention=off"}},
      {"tiny", 6, {"fuse_norm=false"}},
      {"tiny", 5, {"counter_granularity=op"}},
      {"tiny", 4, {"kv_splits=2", "fuse_norm=false", "queue_order=round_robin", "fold_attention=off"}},
      {"stories260k", 8, {}},
      {"stories260k", 6, {"kv_splits=2", "counter_granularity=op", "fold_attention=off"}},
  };
  std::vector<std::pair<std::string, Plan>> out;
  for (const Spec& s : specs) {
    LowerConfig k;
    k.sms = s.sms;
    std::string label = fmt::format("{} sms={}", s.shape, s.sms);
    for (const std::string& kv : s.knobs) {
      k.set(kv);
      label += " " + kv;
    }
    out.emplace_back(label, lower(shape_config(s.shape), target_preset("sm_90a"), k, 16, s.shape));
  }
  return out;
}

SuiteResult run_suite(const SuiteOptions& o) {
  const auto t0 = Clock::now();
  const auto bases = base_plans();
  const auto& muts = mutation_classes();
  SuiteResult res;
  for (const auto& m : muts) res.classes.push_back({m.name});
  res.classes.push_back({"random"});
  const size_t nclass = res.classes.size();
  for (size_t i = 0; i < o.count; ++i) {
    const size_t ci = i % nclass;
    ClassStats& st = res.classes[ci];
    Rng rng(o.seed * 0x100000001b3ULL + i);
    const size_t bi = rng.below(bases.size());
    const auto& [label, base] = bases[bi];
    std::optional<Plan> plan;
    std::string from = label;
    try {
      if (ci < muts.size()) {
        plan = muts[ci].apply(base, rng);
      } else if (rng.chance(0.5)) {
        plan = random_scratch_plan(rng);
        from = "scratch";
      } else {
        plan = random_edits(base, rng);
      }
    } catch (const Error&) {
      plan.reset();  // the mutation built operands footprint() refuses: not applicable here
    }
    if (!plan) {
      ++st.not_applicable;
      continue;
    }
    ++st.generated;
    OracleOptions oo = o.oracle;
    oo.seed = o.seed ^ (i * 0x9e3779b97f4a7c15ULL);
    auto t1 = Clock::now();
    const OracleVerdict ov = judge_plan(*plan, oo);
    st.oracle_seconds += since(t1);
    st.oracle_executions += ov.executions;
    if (ov.exhaustive) ++st.exhaustive;
    if (ov.skipped) {
      ++st.skipped;
      continue;
    }
    t1 = Clock::now();
    const ValidationReport vr = validate_plan(*plan);
    st.validate_seconds += since(t1);
    if (ov.unsafe) ++st.oracle_unsafe; else ++st.oracle_safe;
    if (!vr.ok()) ++st.rejected;
    auto finding = [&] {
      return Finding{i, st.name, from, ov.unsafe ? ov.problem + ": " + ov.detail : "safe", first_diagnostic(vr), *plan};
    };
    if (ov.unsafe && vr.ok()) {
      ++st.false_accepts;
      res.false_accepts.push_back(finding());  // every one: each is a validator bug
    } else if (!ov.unsafe && !vr.ok()) {
      ++st.false_rejects;
      if (res.false_rejects.size() < o.max_examples) res.false_rejects.push_back(finding());
    }
  }
  ClassStats total{"total"};
  for (const ClassStats& c : res.classes) {
    total.generated += c.generated, total.not_applicable += c.not_applicable, total.skipped += c.skipped;
    total.oracle_unsafe += c.oracle_unsafe, total.rejected += c.rejected, total.oracle_safe += c.oracle_safe;
    total.false_accepts += c.false_accepts, total.false_rejects += c.false_rejects;
    total.validate_seconds += c.validate_seconds, total.oracle_seconds += c.oracle_seconds;
    total.oracle_executions += c.oracle_executions;
    total.exhaustive += c.exhaustive;
  }
  res.classes.push_back(total);
  res.seconds = since(t0);
  return res;
}

namespace {
double rate(size_t n, double s) { return s > 0 ? double(n) / s : 0; }
double pct(size_t a, size_t b) { return b ? 100.0 * double(a) / double(b) : 0; }
}  // namespace

std::string SuiteResult::table() const {
  std::string s =
      "| class | generated | n/a | oracle unsafe | oracle safe | rejected | false accepts | false rejects | FR rate | validations/s | oracle plans/s |\n"
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const ClassStats& c : classes)
    s += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {:.1f}% | {:.0f} | {:.0f} |\n", c.name, c.generated,
                     c.not_applicable, c.oracle_unsafe, c.oracle_safe, c.rejected, c.false_accepts, c.false_rejects,
                     pct(c.false_rejects, c.oracle_safe), rate(c.generated - c.skipped, c.validate_seconds),
                     rate(c.generated, c.oracle_seconds));
  return s;
}

nlohmann::json SuiteResult::to_json() const {
  nlohmann::json j;
  j["seconds"] = seconds;
  for (const ClassStats& c : classes)
    j["classes"].push_back({{"name", c.name}, {"generated", c.generated}, {"not_applicable", c.not_applicable},
                            {"skipped", c.skipped}, {"oracle_unsafe", c.oracle_unsafe}, {"oracle_safe", c.oracle_safe},
                            {"rejected", c.rejected}, {"false_accepts", c.false_accepts},
                            {"false_rejects", c.false_rejects},
                            {"false_reject_rate", c.oracle_safe ? double(c.false_rejects) / double(c.oracle_safe) : 0.0},
                            {"validations_per_second", rate(c.generated - c.skipped, c.validate_seconds)},
                            {"oracle_plans_per_second", rate(c.generated, c.oracle_seconds)},
                            {"oracle_executions", c.oracle_executions},
                            {"oracle_executions_per_second", rate(c.oracle_executions, c.oracle_seconds)},
                            {"exhaustive", c.exhaustive}});
  auto list = [](const std::vector<Finding>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const Finding& f : v)
      a.push_back({{"index", f.index}, {"class", f.cls}, {"base", f.base}, {"oracle", f.oracle}, {"validator", f.validator}});
    return a;
  };
  j["false_accepts"] = list(false_accepts);
  j["false_rejects"] = list(false_rejects);
  return j;
}

}  // namespace tessera::soundness

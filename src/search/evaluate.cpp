// Each rung catches tessera::Error and turns it into the candidate's verdict: a hostile or
// broken candidate must cost one row in the store, never the run. Internal errors
// (InternalError, a Tessera bug) are not caught here: they stop the tuner loudly.
#include "search/evaluate.h"

#include <fmt/format.h>

#include "bench/floor.h"
#include "core/error.h"
#include "emulate/reference_check.h"
#include "emulate/shape_model.h"
#include "model/shapes.h"
#include "plan/lower.h"
#include "plan/plan_json.h"
#include "search/candidate_tree.h"
#include "search/rewrite_recipe.h"
#include "validate/validate.h"

namespace tessera {

namespace {

// "" when the plan passes the reference check on `model`, else why not.
std::string emulate_check(const Plan& plan, const Model& model, const EvalSettings& s, uint64_t seed) {
  ReferenceCheckOptions ro;
  ro.prompt = {model.config.bos_token_id >= 0 ? model.config.bos_token_id : 0};
  ro.steps = s.check_steps;
  ro.interleavings = s.check_interleavings;
  ro.engine_threads = s.check_threads;
  ro.emulator.seed = seed;
  ro.emulator.dispatch = "rounds";  // a failing check replays from its seed (scheduler.h)
  ro.emulator.threads = s.check_threads;
  ro.emulator.constants = [&model](const Plan& pl, int32_t buf) { return constant_values(pl, buf, model.config); };
  const double tol = 1e-5;
  ReferenceCheck r = check_against_reference(plan, model, ro);
  if (r.passed(tol)) return "";
  return r.summary(tol);
}

// The kind times of the predicted timeline; empty (and the cost still stands) when a task
// belongs to no kind the search knows.
KindTimes predicted_kinds(const Plan& plan, const Prediction& pr) {
  std::vector<TaskSpan> spans;
  for (size_t i = 0; i < pr.task_start_s.size() && i < pr.task_finish_s.size(); ++i)
    spans.push_back({int32_t(i), pr.task_start_s[i], pr.task_finish_s[i]});
  KindTimes out;
  try {
    for (const auto& [kind, s] : kind_times_of(plan, spans)) out[kind] = {s, 0};
  } catch (const Error&) {
    out.clear();
  }
  return out;
}

std::string first_diagnostic(const ValidationReport& r) {
  const Diagnostic& d = r.errors.front();
  return fmt::format("{}: {}", d.rule, d.message);
}

}  // namespace

Evaluation evaluate_candidate(const Proposal& p, const KnobSpace& space, const EvalSettings& s, uint64_t check_seed) {
  Evaluation ev;
  auto verdict = [&](CandidateStatus st, std::string log) {
    ev.status = st;
    ev.log = std::move(log);
    return ev;
  };
  // Rung 0: the plan.
  std::optional<LowerConfig> knobs;
  try {
    if (p.knobs) {
      knobs = space.to_config(*p.knobs);
      ev.plan = std::make_shared<const Plan>(lower(s.model, s.target, *knobs, s.context, s.model_label));
    } else if (p.plan) {
      ev.plan = p.plan;
    } else {
      return verdict(CandidateStatus::BuildFailed, "the proposal holds neither a knob set nor a plan");
    }
    ev.plan_hash = content_hash(plan_to_json(*ev.plan));
  } catch (const Error& e) {
    return verdict(CandidateStatus::BuildFailed, fmt::format("lowering failed: {}", e.what()));
  }
  std::string recipe_note;  // how a structural candidate of a large model was checked
  // Rung 1: the static proof.
  ValidationReport vr = validate_plan(*ev.plan);
  if (!vr.ok()) return verdict(CandidateStatus::Rejected, "validator: " + first_diagnostic(vr));
  // Rung 2: numbers on the CPU, fresh random weights per check.
  try {
    if (!s.emulate) {
      // skipped by request (EvalSettings::emulate)
    } else if (knobs) {
      Plan small = lower(shape_config(s.check_shape), s.target, *knobs, s.check_context, s.check_shape);
      ValidationReport svr = validate_plan(small);
      if (!svr.ok())
        return verdict(CandidateStatus::Rejected, fmt::format("validator ({} check plan): {}", s.check_shape, first_diagnostic(svr)));
      Model m = shape_model(s.check_shape, check_seed);
      std::string bad = emulate_check(small, m, s, check_seed);
      if (!bad.empty())
        return verdict(CandidateStatus::Incorrect, fmt::format("emulator vs reference on {} (weights seed {}):\n{}", s.check_shape, check_seed, bad));
    } else {
      const int64_t params = step_weight_params(s.model);
      const bool has_recipe = p.op_params.is_object() && p.op_params.contains("recipe") && p.op_params["recipe"].is_object();
      if (params > s.whole_plan_check_max_params && has_recipe) {
        // A structural candidate: the same knobs and rewrites replayed on the check shape,
        // as knob candidates are checked (rewrites with nothing to change there are skipped).
        RecipeReplay rr = replay_recipe(p.op_params["recipe"], space, shape_config(s.check_shape), s.target,
                                        s.check_context, s.check_shape, false);
        ValidationReport svr = validate_plan(rr.plan);
        if (!svr.ok())
          return verdict(CandidateStatus::Rejected,
                         fmt::format("validator ({} recipe plan): {}", s.check_shape, first_diagnostic(svr)));
        Model m = shape_model(s.check_shape, check_seed);
        std::string bad = emulate_check(rr.plan, m, s, check_seed);
        if (!bad.empty())
          return verdict(CandidateStatus::Incorrect, fmt::format("emulator vs reference on {} (recipe replayed, weights "
                                                                 "seed {}):\n{}", s.check_shape, check_seed, bad));
        recipe_note = fmt::format("; recipe checked on {}: {} of {} rewrites applied there", s.check_shape, rr.applied,
                                  rr.total);
      } else if (params > s.whole_plan_check_max_params) {
        return verdict(CandidateStatus::Incorrect,
                       fmt::format("not verified: a whole plan for a model of {} weight parameters is too large to emulate "
                                   "on the CPU (limit {}), and no GPU check is configured",
                                   params, s.whole_plan_check_max_params));
      } else {
        Model m = shape_model(s.model_label, check_seed);
        std::string bad = emulate_check(*ev.plan, m, s, check_seed);
        if (!bad.empty())
          return verdict(CandidateStatus::Incorrect, fmt::format("emulator vs reference on {} (weights seed {}):\n{}", s.model_label, check_seed, bad));
      }
    }
  } catch (const Error& e) {
    return verdict(CandidateStatus::Incorrect, fmt::format("emulator: {}", e.what()));
  }
  // Rung 3: the GPU, or the model.
  if (s.measurer) {
    std::string bad;
    try {
      bad = s.measurer->verify(*ev.plan);
    } catch (const Error& e) {
      return verdict(CandidateStatus::RunFailed, fmt::format("{} verify: {}", s.measurer->name(), e.what()));
    }
    if (!bad.empty()) return verdict(CandidateStatus::Incorrect, fmt::format("{} vs reference: {}", s.measurer->name(), bad));
    Measurement m;
    try {
      m = s.measurer->measure(*ev.plan);
    } catch (const Error& e) {
      m.error = e.what();
    }
    if (!m.error.empty()) return verdict(CandidateStatus::RunFailed, fmt::format("{}: {}", s.measurer->name(), m.error));
    ev.cost_s = m.median_s;
    ev.spread = m.spread;
    ev.cost_kind = CostKind::Measured;
    ev.kinds = m.kinds;
    // The path the model would take, so the measurement can calibrate it (record_calibration).
    try {
      ev.features = predict_step(*ev.plan, s.cost, s.position).features;
    } catch (const Error&) {
      // A plan the model cannot walk still has its measurement; it just calibrates nothing.
    }
    return verdict(CandidateStatus::Ok, fmt::format("measured on {}: {:.4f} ms, spread {:.1f}%{}{}", s.measurer->name(),
                                                    m.median_s * 1e3, m.spread * 100, recipe_note,
                                                    ev.kinds.empty() ? "" : "\n" + kind_times_text(ev.kinds)));
  }
  try {
    Prediction pr = predict_step(*ev.plan, s.cost, s.position);
    ev.cost_s = pr.seconds;
    ev.cost_kind = CostKind::Predicted;
    ev.features = pr.features;
    ev.kinds = predicted_kinds(*ev.plan, pr);
    return verdict(CandidateStatus::Ok,
                   fmt::format("predicted {:.4f} ms (path: {} tasks, {} waits, {} bytes){}{}", pr.seconds * 1e3,
                               pr.features.path_tasks, pr.features.path_waits, pr.features.path_bytes, recipe_note,
                               ev.kinds.empty() ? "" : "\n" + kind_times_text(ev.kinds)));
  } catch (const Error& e) {
    return verdict(CandidateStatus::RunFailed, fmt::format("cost model: {}", e.what()));
  }
}

bool record_calibration(TuneStore& store, const EvalSettings& s, const Evaluation& ev) {
  if (ev.status != CandidateStatus::Ok || ev.cost_kind != CostKind::Measured || ev.features.path_tasks == 0) return false;
  CalibrationRecord r;
  r.target = s.target.arch;
  r.plan_hash = ev.plan_hash;
  r.position = s.position;
  r.measured_s = ev.cost_s;
  r.spread = ev.spread;
  r.features = features_to_json(ev.features);
  store.add_calibration(r);
  return true;
}

double paired_cost(double best_cost_s, const PairedRatio& r) { return best_cost_s * r.median; }
double paired_spread(const PairedRatio& r) { return r.median > 0 ? (r.p90 - r.p10) / r.median : 0; }

void interleave_with_best(Evaluation& ev, Measurer* measurer, const BestSoFar& best,
                          const std::function<std::shared_ptr<const Plan>()>& best_plan) {
  if (!measurer || best.id < 0 || ev.status != CandidateStatus::Ok || ev.cost_kind != CostKind::Measured || !ev.plan)
    return;
  if (best.cost_kind != CostKind::Measured ||
      !faster_beyond_noise(ev.cost_s, ev.spread, ev.cost_kind, best.cost_s, best.spread, best.cost_kind))
    return;
  const std::shared_ptr<const Plan> reference = best_plan();
  if (!reference) {
    ev.log += fmt::format("\nnot interleaved: the best (candidate {})'s plan is not in the database", best.id);
    return;
  }
  const PairedRatio r = measurer->compare(*ev.plan, *reference);
  if (!r.error.empty()) {
    ev.log += fmt::format("\nnot interleaved with the best (candidate {}): {}", best.id, r.error);
    return;
  }
  const double solo = ev.cost_s;
  ev.cost_s = paired_cost(best.cost_s, r);
  ev.spread = paired_spread(r);
  ev.log += fmt::format(
      "\ninterleaved with the best (candidate {}, {} pairs): ratio median {:.4f} (p10 {:.4f}, p90 {:.4f}); "
      "cost {:.4f} ms = its {:.4f} ms x the median (solo {:.4f} ms)",
      best.id, r.pairs, r.median, r.p10, r.p90, ev.cost_s * 1e3, best.cost_s * 1e3, solo * 1e3);
}

}  // namespace tessera

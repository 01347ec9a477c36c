// Reference logits are kept for every position (vocab x positions floats: tens of MB at
// most for the runs CI and the search do) so the engine runs once however many
// interleavings are checked.
#include "emulate/reference_check.h"

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "engine/cpu_engine.h"
#include "engine/sampler.h"

namespace tessera {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  double scale = 0, err = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, std::fabs(double(want[i])));
    const double d = std::fabs(double(got[i]) - double(want[i]));
    err = std::isnan(d) ? INFINITY : std::max(err, d);
  }
  return err / std::max(scale, 1e-30);
}

}  // namespace

double ReferenceCheck::max_rel_error() const {
  double m = 0;
  for (const ReferenceRun& r : runs)
    for (double e : r.rel_error) m = std::max(m, e);
  return m;
}

bool ReferenceCheck::tokens_identical() const {
  for (const ReferenceRun& r : runs)
    if (r.tokens != reference_tokens) return false;
  return true;
}

bool ReferenceCheck::interleavings_agree() const {
  for (const ReferenceRun& r : runs)
    if (r.tokens != runs.front().tokens) return false;
  return true;
}

bool ReferenceCheck::passed(double tolerance) const {
  return !runs.empty() && tokens_identical() && interleavings_agree() && max_rel_error() <= tolerance;
}

std::string ReferenceCheck::summary(double tolerance) const {
  std::string s = fmt::format("positions:        {} ({} tokens fed)\n", inputs.size(), inputs.size());
  s += fmt::format("reference tokens: {}\n", fmt::join(reference_tokens, ","));
  for (const ReferenceRun& r : runs) {
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < r.rel_error.size(); ++i)
      if (r.rel_error[i] > worst) worst = r.rel_error[i], at = i;
    size_t mismatches = 0;
    for (size_t i = 0; i < r.tokens.size(); ++i) mismatches += r.tokens[i] != reference_tokens[i];
    s += fmt::format("seed {:<4} max rel logit error {:.3g} (pos {}), {} token mismatches, {:.3f} ms/step "
                     "({:.3f} in serial checks){}\n",
                     r.seed, worst, at, mismatches, r.seconds_per_step * 1e3, r.serial_seconds_per_step * 1e3,
                     r.bit_identical_to_first ? "" : ", logits differ from seed " + std::to_string(runs.front().seed));
  }
  s += fmt::format("reference engine: {:.3f} ms/step\n", reference_seconds_per_step * 1e3);
  s += fmt::format("result:           {} (max rel error {:.3g}, tolerance {:.3g}; tokens {}; interleavings {})\n",
                   passed(tolerance) ? "PASS" : "FAIL", max_rel_error(), tolerance,
                   tokens_identical() ? "identical" : "DIFFER", interleavings_agree() ? "agree" : "DISAGREE");
  return s;
}

ReferenceCheck check_against_reference(const Plan& plan, const Model& model,
                                       const ReferenceCheckOptions& o) {
  if (o.prompt.empty()) fail("the emulator check needs at least one prompt token");
  if (o.steps < 0) fail("--steps must be >= 0, got {}", o.steps);
  if (o.interleavings < 1) fail("--interleavings must be >= 1, got {}", o.interleavings);
  const size_t positions = o.prompt.size() + size_t(o.steps);
  if (positions > size_t(plan.context))
    fail("{} prompt tokens + {} steps exceed the plan's context of {}", o.prompt.size(), o.steps, plan.context);

  ReferenceCheck out;
  std::vector<std::vector<float>> ref;
  {
    CpuEngine engine(model, plan.context, o.engine_threads);
    const auto t0 = std::chrono::steady_clock::now();
    int token = o.prompt[0];
    for (size_t pos = 0; pos < positions; ++pos) {
      out.inputs.push_back(token);
      ref.push_back(engine.forward(token, int(pos)));
      out.reference_tokens.push_back(argmax(ref.back()));
      token = pos + 1 < o.prompt.size() ? o.prompt[pos + 1] : out.reference_tokens.back();
    }
    out.reference_seconds_per_step = seconds_since(t0) / double(positions);
  }

  std::vector<std::vector<float>> first;
  for (int k = 0; k < o.interleavings; ++k) {
    EmulatorOptions eo = o.emulator;
    eo.seed = o.emulator.seed + uint64_t(k);
    if (k > 0) eo.trace_path.clear();  // the trace shows the first interleaving
    Emulator emu(plan, model, eo);
    ReferenceRun run;
    run.seed = eo.seed;
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t pos = 0; pos < positions; ++pos) {
      const std::vector<float>& logits = emu.forward(out.inputs[pos], int(pos));
      run.rel_error.push_back(rel_error(logits, ref[pos]));
      run.tokens.push_back(emu.next_token());
      if (k == 0) first.push_back(logits);
      else if (logits != first[pos]) run.bit_identical_to_first = false;
    }
    run.seconds_per_step = seconds_since(t0) / double(positions);
    run.serial_seconds_per_step = emu.serial_seconds() / double(positions);
    emu.write_trace();
    out.runs.push_back(std::move(run));
  }
  return out;
}

}  // namespace tessera

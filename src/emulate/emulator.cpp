// Wires the pieces of one emulated step: storage (storage.h), the random scheduler
// (scheduler.h), happens-before clocks and shadow state (happens_before.h, shadow_state.h),
// the twins (instructions_cpu.h) and the trace (trace.h). Plans may come from files, so
// the constructor checks everything the scheduler and shadow state index by (task ids,
// queues, counters, the token and logits buffers) before they run.
#include "emulate/emulator.h"

#include <chrono>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "emulate/happens_before.h"
#include "emulate/scheduler.h"
#include "emulate/shadow_state.h"
#include "emulate/storage.h"
#include "emulate/trace.h"
#include "plan/footprint.h"

namespace tessera {

namespace {

void check_structure(const Plan& plan) {
  const std::string& where = plan.model.empty() ? std::string("plan") : "plan '" + plan.model + "'";
  if (plan.context <= 0) fail("{}: context {} must be positive", where, plan.context);
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    const Task& t = plan.tasks[i];
    if (t.id != int32_t(i)) fail("{}: task at index {} has id {}", where, i, t.id);
    for (const Wait& w : t.waits)
      if (w.counter < 0 || size_t(w.counter) >= plan.counters.size())
        fail("{}: task {} waits on counter {} (the plan has {})", where, t.id, w.counter, plan.counters.size());
    for (const Signal& s : t.signals) {
      if (s.counter < 0 || size_t(s.counter) >= plan.counters.size())
        fail("{}: task {} signals counter {} (the plan has {})", where, t.id, s.counter, plan.counters.size());
      if (s.inc < 1) fail("{}: task {} signals counter {} with increment {} (must be >= 1)", where, t.id, s.counter, s.inc);
    }
  }
  std::vector<int> seen(plan.tasks.size(), 0);
  for (size_t b = 0; b < plan.queues.size(); ++b)
    for (int32_t id : plan.queues[b]) {
      if (id < 0 || size_t(id) >= plan.tasks.size())
        fail("{}: queue {} holds task {} (the plan has {})", where, b, id, plan.tasks.size());
      if (seen[size_t(id)]++) fail("{}: task {} appears in more than one queue slot", where, id);
      if (plan.tasks[size_t(id)].sm != int32_t(b))
        fail("{}: task {} is in queue {} but names block {}", where, id, b, plan.tasks[size_t(id)].sm);
    }
  for (size_t i = 0; i < seen.size(); ++i)
    if (!seen[i]) fail("{}: task {} is in no queue", where, i);
  for (int32_t o : plan.outputs)
    if (o < 0 || size_t(o) >= plan.buffers.size())
      fail("{}: output {} names no buffer (the plan has {})", where, o, plan.buffers.size());
  auto token_buf = [&](int32_t id, BufferKind kind, const char* what) {
    if (id < 0 || size_t(id) >= plan.buffers.size()) fail("{}: {} buffer {} does not exist", where, what, id);
    const Buffer& b = plan.buffers[size_t(id)];
    if (b.kind != kind || b.dtype != BufDType::I32 || b.shape != std::vector<int64_t>{1})
      fail("{}: {} buffer '{}' must be an {} i32[1]", where, what, b.name, buffer_kind_name(kind));
  };
  token_buf(plan.token_input, BufferKind::Input, "token input");
  token_buf(plan.token_output, BufferKind::Output, "token output");
}

int32_t find_logits(const Plan& plan) {
  for (int32_t o : plan.outputs) {
    const Buffer& b = plan.buffers[size_t(o)];
    if (b.name == "logits") {
      if (b.dtype != BufDType::F32 || b.shape.size() != 1)
        fail("plan '{}': output 'logits' must be f32 of rank 1", plan.model);
      return o;
    }
  }
  fail("plan '{}' has no output buffer named 'logits'", plan.model);
}

}  // namespace

struct Emulator::Impl {
  Impl(const Plan& p, const Model& m, EmulatorOptions o)
      : plan(p), model(m), opt(std::move(o)), hb(p), scheduler(p, opt.threads, opt.seed, parse_dispatch(opt.dispatch)) {}

  const Plan& plan;
  const Model& model;
  EmulatorOptions opt;
  PlanStorage storage;
  std::vector<Footprint> footprints;
  HappensBefore hb;
  std::optional<ShadowState> shadow;
  Scheduler scheduler;
  std::optional<TraceRecorder> trace;
  SchedulerHooks hooks;
  int32_t logits_buf = -1;
  std::vector<float> logits;
  std::string failure;  // set after an error: the run cannot go on

  // Per step, for the trace: when each block became free, and each task's times.
  std::vector<double> block_free, t_start, t_end;
  int64_t step = 0, pos = 0;
  // Time inside the start and finish hooks (happens-before, shadow state), which both
  // dispatch modes run one at a time: the part of a step more cores cannot shorten.
  double serial_seconds = 0;
};

Emulator::Emulator(const Plan& plan, const Model& model, EmulatorOptions options) {
  if (options.numerics != "fp32" && options.numerics != "gpu")
    fail("emulator numerics must be 'fp32' or 'gpu', got '{}'", options.numerics);
  parse_dispatch(options.dispatch);  // a bad name fails before storage is bound
  if (options.threads < 0) fail("emulator threads must be >= 0, got {}", options.threads);
  check_structure(plan);
  impl_ = std::make_unique<Impl>(plan, model, std::move(options));
  Impl& s = *impl_;
  s.logits_buf = find_logits(plan);
  if (plan.buffers[size_t(s.logits_buf)].shape[0] != model.config.vocab_size)
    fail("plan '{}': logits hold {} values but model '{}' has a vocabulary of {}", plan.model,
         plan.buffers[size_t(s.logits_buf)].shape[0], model.source, model.config.vocab_size);
  for (const Task& t : plan.tasks) s.footprints.push_back(footprint(plan, t));
  s.storage = bind_storage(plan, model, s.opt.numerics == "gpu", s.opt.constants);
  if (s.opt.check_shadow) s.shadow.emplace(plan, s.hb);
  if (!s.opt.trace_path.empty()) s.trace.emplace(plan);
  s.block_free.assign(plan.queues.size(), 0);
  s.t_start.assign(plan.tasks.size(), 0);
  s.t_end.assign(plan.tasks.size(), 0);

  // Cost of a task ~ the elements it reads (weights dominate), to run tiny rounds inline.
  for (const Footprint& f : s.footprints) {
    int64_t c = 0;
    for (const Region& r : f.reads) {
      int64_t n = 1;
      for (const Interval& i : r.dims) n *= std::max<int64_t>(1, i.hi_at(0) - i.lo_at(0));
      c += n;
    }
    s.hooks.cost.push_back(c);
  }
  s.hooks.start = [&s](int32_t task) {
    const auto t0 = std::chrono::steady_clock::now();
    s.hb.start(task);
    if (s.shadow) s.shadow->access(task, s.footprints[size_t(task)]);
    s.serial_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  s.hooks.run = [&s](int32_t task) {
    const bool timed = s.trace.has_value();
    if (timed) s.t_start[size_t(task)] = s.trace->now_us();
    execute_task(s.plan, s.plan.tasks[size_t(task)], s.storage.bufs, s.pos);
    if (timed) s.t_end[size_t(task)] = s.trace->now_us();
  };
  s.hooks.finish = [&s](int32_t task) {
    const auto t0 = std::chrono::steady_clock::now();
    s.hb.finish(task);
    s.serial_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s.trace) {
      const int32_t b = s.plan.tasks[size_t(task)].sm;
      const double st = s.t_start[size_t(task)], en = s.t_end[size_t(task)];
      s.trace->add(task, s.step, s.pos, st, en, std::max(0.0, st - s.block_free[size_t(b)]));
      s.block_free[size_t(b)] = en;
    }
  };
}

Emulator::~Emulator() {
  try {
    write_trace();
  } catch (...) {
    // A destructor must not throw; callers who care call write_trace() themselves.
  }
}

int Emulator::capacity() const { return impl_->plan.context; }

double Emulator::serial_seconds() const { return impl_->serial_seconds; }

void Emulator::reset() {
  steps_ = 0;
  impl_->scheduler.reset();
  impl_->failure.clear();
}

const std::vector<float>& Emulator::forward(int token, int pos) {
  Impl& s = *impl_;
  if (!s.failure.empty()) fail("the emulator stopped after an earlier error (reset() to run again): {}", s.failure);
  const int64_t vocab = s.plan.buffers[size_t(s.logits_buf)].shape[0];
  if (token < 0 || token >= vocab) fail("token id {} is outside the vocabulary of {} tokens", token, vocab);
  if (pos != steps_) fail("position {} is out of order: the emulator expects position {} next", pos, steps_);
  if (pos >= s.plan.context) fail("position {} exceeds the plan's context of {} tokens", pos, s.plan.context);

  try {
    s.step = steps_;
    s.pos = pos;
    poison_step_buffers(s.plan, s.storage);
    static_cast<int32_t*>(s.storage.bufs[size_t(s.plan.token_input)].data)[0] = token;
    s.hb.begin_step();
    if (s.shadow) s.shadow->begin_step(s.step, pos);
    if (s.trace) std::fill(s.block_free.begin(), s.block_free.end(), s.trace->now_us());
    s.scheduler.run_step(s.step, pos, s.hooks);
    if (s.shadow) s.shadow->check_outputs();
  } catch (const std::exception& e) {
    s.failure = e.what();
    throw;
  }

  const BufferData& lb = s.storage.bufs[size_t(s.logits_buf)];
  s.logits.assign(static_cast<const float*>(lb.data), static_cast<const float*>(lb.data) + lb.numel());
  ++steps_;
  return s.logits;
}

int Emulator::next_token() const {
  return static_cast<const int32_t*>(impl_->storage.bufs[size_t(impl_->plan.token_output)].data)[0];
}

std::string Emulator::trace_json() const {
  return impl_->trace ? impl_->trace->to_json() : TraceRecorder(impl_->plan).to_json();
}

void Emulator::write_trace() const {
  if (impl_->trace && !impl_->opt.trace_path.empty()) impl_->trace->write(impl_->opt.trace_path);
}

}  // namespace tessera

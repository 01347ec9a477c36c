// Rule "structure": every reference resolves and every number is in range, so the later
// passes can index vectors and evaluate bounds without checking again. Each check looks
// at one element and reports it; nothing here builds a graph.
#include <fmt/format.h>

#include <unordered_map>

#include "validate/describe.h"
#include "validate/passes.h"
#include "validate/pos_range.h"

namespace tessera::validate {

namespace {

// Bounds a plan may use; far beyond any real model, small enough that every affine bound
// evaluates without overflow (|c| + pos < 2^51) and every element count fits comfortably.
constexpr int64_t kMaxDim = int64_t(1) << 40;
constexpr int64_t kMaxElements = int64_t(1) << 48;
constexpr int64_t kMaxCoord = int64_t(1) << 50;

class StructureCheck {
 public:
  StructureCheck(const Plan& plan, Sink& sink) : plan_(plan), sink_(sink) {}

  void run() {
    if (plan_.context < 1)
      sink_.add("structure", fmt::format("plan: context {} must be at least 1", plan_.context));
    buffers();
    counters();
    tasks();
    queues();
    token_and_outputs();
  }

 private:
  void err(const std::string& msg, std::vector<int32_t> tasks = {}, int32_t counter = -1,
           int32_t buffer = -1) {
    sink_.add("structure", msg, std::move(tasks), counter, buffer);
  }
  bool buf_ok(int32_t b) const { return b >= 0 && size_t(b) < plan_.buffers.size(); }
  bool counter_ok(int32_t c) const { return c >= 0 && size_t(c) < plan_.counters.size(); }

  void buffers() {
    std::unordered_map<std::string, int32_t> names;
    for (size_t i = 0; i < plan_.buffers.size(); ++i) {
      const Buffer& b = plan_.buffers[i];
      const int32_t id = int32_t(i);
      if (b.id != id) err(fmt::format("buffer {} ('{}'): id is {}, expected its index {}", i, b.name, b.id, i), {}, -1, id);
      auto [it, fresh] = names.emplace(b.name, id);
      if (!fresh)
        err(fmt::format("buffer {}: name '{}' is already used by buffer {}", i, b.name, it->second), {}, -1, id);
      int64_t n = 1;
      for (size_t d = 0; d < b.shape.size(); ++d) {
        if (b.shape[d] < 0 || b.shape[d] > kMaxDim) {
          err(fmt::format("buffer '{}': dimension {} is {} (must be in [0, 2^40])", b.name, d, b.shape[d]), {}, -1, id);
          n = -1;
          break;
        }
        n = b.shape[d] == 0 ? 0 : (n > kMaxElements / b.shape[d] ? kMaxElements + 1 : n * b.shape[d]);
      }
      if (n > kMaxElements)
        err(fmt::format("buffer '{}': more than 2^48 elements", b.name), {}, -1, id);
    }
  }

  void counters() {
    for (size_t i = 0; i < plan_.counters.size(); ++i)
      if (plan_.counters[i].id != int32_t(i))
        err(fmt::format("counter {} ('{}'): id is {}, expected its index {}", i, plan_.counters[i].name,
                        plan_.counters[i].id, i), {}, int32_t(i));
    std::vector<int64_t> total(plan_.counters.size(), 0);
    std::vector<bool> overflowed(plan_.counters.size(), false);
    for (const Task& t : plan_.tasks)
      for (const Signal& s : t.signals)
        if (counter_ok(s.counter) && s.inc >= 1 && !overflowed[size_t(s.counter)] &&
            __builtin_add_overflow(total[size_t(s.counter)], s.inc, &total[size_t(s.counter)])) {
          overflowed[size_t(s.counter)] = true;
          err(fmt::format("{}: the increments of its signals overflow 64 bits", counter_label(plan_, s.counter)),
              {}, s.counter);
        }
  }

  void region(const Task& t, const Region& r, const char* kind, size_t k) {
    // Formatted only on error: plans have hundreds of thousands of regions.
    auto where = [&] { return fmt::format("{}: {}[{}]", task_label(plan_, t.id), kind, k); };
    if (!buf_ok(r.buf)) {
      err(fmt::format("{} names buffer {} (the plan has {} buffers)", where(), r.buf, plan_.buffers.size()), {t.id});
      return;
    }
    const Buffer& b = plan_.buffers[size_t(r.buf)];
    if (r.dims.size() != b.shape.size()) {
      err(fmt::format("{} has {} intervals for buffer '{}' of rank {}", where(), r.dims.size(), b.name, b.shape.size()),
          {t.id}, -1, r.buf);
      return;
    }
    for (size_t d = 0; d < r.dims.size(); ++d)
      for (const Affine* a : {&r.dims[d].lo, &r.dims[d].hi})
        if ((a->pos != 0 && a->pos != 1) || a->c < -kMaxCoord || a->c > kMaxCoord) {
          err(fmt::format("{} dimension {}: bound {} + {}*pos is out of range (pos coefficient 0 or 1, "
                          "|constant| <= 2^50)", where(), d, a->c, a->pos), {t.id}, -1, r.buf);
          return;
        }
    if (plan_.context < 1) return;
    // Bounds only grow with pos, and the pos values at which the box is non-empty form one
    // range: the box stays inside the buffer iff it does at both ends of that range.
    PosSet live = region_nonempty(r, plan_.context);
    if (live.empty()) return;
    for (size_t d = 0; d < r.dims.size(); ++d) {
      const int64_t lo = r.dims[d].lo_at(live.first()), hi = r.dims[d].hi_at(live.last());
      if (lo < 0 || hi > b.shape[d]) {
        const int64_t at = lo < 0 ? live.first() : live.last();
        err(fmt::format("{} {} lies outside the buffer's shape [{}] in dimension {}", where(),
                        region_text(plan_, r, at), fmt::join(b.shape, ", "), d), {t.id}, -1, r.buf);
        return;
      }
    }
  }

  void tasks() {
    const size_t blocks = plan_.queues.size();
    for (size_t i = 0; i < plan_.tasks.size(); ++i) {
      const Task& t = plan_.tasks[i];
      const int32_t id = int32_t(i);
      if (t.id != id) {
        err(fmt::format("task {}: id is {}, expected its index {}", i, t.id, i), {id});
        continue;  // the messages below name the task by its id
      }
      if (size_t(t.op) >= size_t(kNumOps)) err(fmt::format("task {}: opcode {} is unknown", i, int(t.op)), {id});
      if (t.sm < 0 || size_t(t.sm) >= blocks)
        err(fmt::format("task {}: sm {} is not a block (the plan has {} queues)", i, t.sm, blocks), {id});
      for (size_t k = 0; k < t.reads.size(); ++k) region(t, t.reads[k], "reads", k);
      for (size_t k = 0; k < t.writes.size(); ++k) region(t, t.writes[k], "writes", k);
      for (size_t k = 0; k < t.waits.size(); ++k) {
        const Wait& w = t.waits[k];
        if (!counter_ok(w.counter))
          err(fmt::format("{}: waits[{}] names counter {} (the plan has {} counters)", task_label(plan_, id), k,
                          w.counter, plan_.counters.size()), {id});
        else if (w.threshold < 1)
          err(fmt::format("{}: waits[{}] on {} has threshold {} (must be at least 1)", task_label(plan_, id), k,
                          counter_label(plan_, w.counter), w.threshold), {id}, w.counter);
      }
      for (size_t k = 0; k < t.signals.size(); ++k) {
        const Signal& s = t.signals[k];
        if (!counter_ok(s.counter))
          err(fmt::format("{}: signals[{}] names counter {} (the plan has {} counters)", task_label(plan_, id), k,
                          s.counter, plan_.counters.size()), {id});
        else if (s.inc < 1)
          err(fmt::format("{}: signals[{}] on {} has increment {} (must be at least 1)", task_label(plan_, id), k,
                          counter_label(plan_, s.counter), s.inc), {id}, s.counter);
      }
    }
  }

  void queues() {
    std::vector<int32_t> where(plan_.tasks.size(), -1);
    for (size_t b = 0; b < plan_.queues.size(); ++b)
      for (size_t k = 0; k < plan_.queues[b].size(); ++k) {
        const int32_t t = plan_.queues[b][k];
        if (t < 0 || size_t(t) >= plan_.tasks.size()) {
          err(fmt::format("queue {} position {} names task {} (the plan has {} tasks)", b, k, t, plan_.tasks.size()));
          continue;
        }
        if (where[size_t(t)] >= 0) {
          err(fmt::format("task {} appears in queue {} and again in queue {}", t, where[size_t(t)], b), {t});
          continue;
        }
        where[size_t(t)] = int32_t(b);
        if (plan_.tasks[size_t(t)].sm != int32_t(b))
          err(fmt::format("task {} is in queue {} but its sm is {}", t, b, plan_.tasks[size_t(t)].sm), {t});
      }
    for (size_t t = 0; t < where.size(); ++t)
      if (where[t] < 0) err(fmt::format("{} is in no queue", task_label(plan_, int32_t(t))), {int32_t(t)});
  }

  void token_and_outputs() {
    auto check = [&](int32_t b, const char* what, BufferKind kind) {
      if (!buf_ok(b)) {
        err(fmt::format("plan: {} names buffer {} (the plan has {} buffers)", what, b, plan_.buffers.size()));
        return false;
      }
      const Buffer& buf = plan_.buffers[size_t(b)];
      if (buf.kind != kind) {
        err(fmt::format("plan: {} buffer '{}' is of kind {}, expected {}", what, buf.name, buffer_kind_name(buf.kind),
                        buffer_kind_name(kind)), {}, -1, b);
        return false;
      }
      return true;
    };
    for (auto [b, what, kind] : {std::tuple{plan_.token_input, "token_input", BufferKind::Input},
                                 std::tuple{plan_.token_output, "token_output", BufferKind::Output}}) {
      if (!check(b, what, kind)) continue;
      const Buffer& buf = plan_.buffers[size_t(b)];
      if (buf.dtype != BufDType::I32 || buf.shape != std::vector<int64_t>{1})
        err(fmt::format("plan: {} buffer '{}' is {}[{}], expected i32[1]", what, buf.name, buf_dtype_name(buf.dtype),
                        fmt::join(buf.shape, ", ")), {}, -1, b);
    }
    std::vector<bool> listed(plan_.buffers.size(), false);
    for (size_t k = 0; k < plan_.outputs.size(); ++k) {
      const int32_t b = plan_.outputs[k];
      if (!check(b, fmt::format("outputs[{}]", k).c_str(), BufferKind::Output)) continue;
      if (listed[size_t(b)]) err(fmt::format("plan: outputs lists buffer '{}' twice", plan_.buffers[size_t(b)].name), {}, -1, b);
      listed[size_t(b)] = true;
    }
    for (size_t b = 0; b < plan_.buffers.size(); ++b)
      if (plan_.buffers[b].kind == BufferKind::Output && !listed[b])
        err(fmt::format("plan: output buffer '{}' is missing from outputs", plan_.buffers[b].name), {}, -1, int32_t(b));
  }

  const Plan& plan_;
  Sink& sink_;
};

}  // namespace

void check_structure(const Plan& plan, Sink& sink) { StructureCheck(plan, sink).run(); }

}  // namespace tessera::validate

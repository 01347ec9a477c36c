#include "plan/plan.h"

namespace tessera {

namespace {
constexpr const char* kOpNames[kNumOps] = {"embed",         "rmsnorm",        "norm_matvec",
                                           "attn_partial",  "attn_combine",   "lm_head_argmax",
                                           "argmax_reduce", "attn_matvec"};
}

std::string op_name(Op op) {
  size_t i = size_t(op);
  return i < size_t(kNumOps) ? kOpNames[i] : "op?";
}

bool parse_op_name(const std::string& s, Op* op) {
  for (int i = 0; i < kNumOps; ++i)
    if (s == kOpNames[i]) {
      *op = Op(i);
      return true;
    }
  return false;
}

std::string buffer_kind_name(BufferKind k) {
  switch (k) {
    case BufferKind::Weight: return "weight";
    case BufferKind::Constant: return "constant";
    case BufferKind::Input: return "input";
    case BufferKind::State: return "state";
    case BufferKind::Activation: return "activation";
    case BufferKind::Output: return "output";
  }
  return "kind?";
}

std::string buf_dtype_name(BufDType t) {
  switch (t) {
    case BufDType::F32: return "f32";
    case BufDType::BF16: return "bf16";
    case BufDType::I32: return "i32";
  }
  return "dtype?";
}

int64_t buf_dtype_size(BufDType t) { return t == BufDType::BF16 ? 2 : 4; }

std::vector<int64_t> per_step_totals(const Plan& plan) {
  std::vector<int64_t> total(plan.counters.size(), 0);
  for (const Task& t : plan.tasks)
    for (const Signal& s : t.signals)
      if (s.counter >= 0 && size_t(s.counter) < total.size()) {
        // Saturate: hostile plans may carry increments whose sum overflows.
        int64_t& t = total[size_t(s.counter)];
        if (__builtin_add_overflow(t, s.inc, &t)) t = std::numeric_limits<int64_t>::max();
      }
  return total;
}

}  // namespace tessera

#include "plan/footprint.h"

#include <fmt/format.h>

#include "core/error.h"
#include "plan/attn_fold.h"

namespace tessera {

Interval fixed(int64_t lo, int64_t hi) { return Interval{Affine{lo, 0}, Affine{hi, 0}}; }

Region whole(const Plan& plan, int32_t buf) {
  Region r{buf, {}};
  for (int64_t d : plan.buffers.at(size_t(buf)).shape) r.dims.push_back(fixed(0, d));
  return r;
}

namespace {

// Checked arithmetic: plans come from files, so products of their numbers may overflow.

class Checker {
 public:
  Checker(const Plan& plan, const Task& t) : plan_(plan), t_(t) {}
  [[noreturn]] void bad(const std::string& msg) const { fail("{}: {}", where(), msg); }
  // Formatted only when a message needs it: footprint() runs for every task of 200k-task
  // plans inside the validator's time budget.
  std::string where() const { return fmt::format("task {} ({})", t_.id, op_name(t_.op)); }

  // The buffer an operand names; checks presence, dtype and rank.
  const Buffer& buf(const char* field, int32_t id, BufDType dtype, size_t rank) const {
    if (id < 0 || size_t(id) >= plan_.buffers.size())
      bad(fmt::format("operand '{}' names buffer {} (the plan has {} buffers)", field, id,
                      plan_.buffers.size()));
    const Buffer& b = plan_.buffers[size_t(id)];
    if (b.dtype != dtype && !(dtype == BufDType::BF16 && b.dtype == BufDType::F32 &&
                              (b.kind == BufferKind::Weight || b.kind == BufferKind::State)))
      bad(fmt::format("operand '{}' (buffer '{}') has dtype {}, expected {}", field, b.name,
                      buf_dtype_name(b.dtype), buf_dtype_name(dtype)));
    if (b.shape.size() != rank)
      bad(fmt::format("operand '{}' (buffer '{}') has rank {}, expected {}", field, b.name,
                      b.shape.size(), rank));
    return b;
  }
  // Weights and KV caches may be stored in f32 or bf16; everything else has a fixed dtype.
  const Buffer& weight(const char* field, int32_t id, size_t rank) const {
    return buf(field, id, BufDType::BF16, rank);
  }
  void absent(const char* field, int32_t id) const {
    if (id != -1) bad(fmt::format("operand '{}' is not used by this opcode (got buffer {})", field, id));
  }
  void rows(int64_t n, const char* what) const {
    if (!(0 <= t_.p.row_begin && t_.p.row_begin < t_.p.row_end && t_.p.row_end <= n))
      bad(fmt::format("rows [{}, {}) must be a non-empty range inside [0, {}) ({})",
                      t_.p.row_begin, t_.p.row_end, n, what));
  }
  void dim_eq(const Buffer& b, size_t d, int64_t want, const char* what) const {
    if (b.shape[d] != want)
      bad(fmt::format("buffer '{}' dimension {} is {}, expected {} ({})", b.name, d, b.shape[d],
                      want, what));
  }

 private:
  const Plan& plan_;
  const Task& t_;
};

template <typename Where>
int64_t mul(int64_t a, int64_t b, const Where& where) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail("{}: {} * {} overflows", where.where(), a, b);
  return r;
}

// q and the k/v caches of an attention opcode (attn_partial, attn_matvec), checked: q F32
// [Hq*hd], caches state buffers [context, Hkv*hd], whole heads, Hq a multiple of Hkv.
struct AttnOperands {
  const Buffer &q, &kc, &vc;
  int64_t hd, hkv, hq;
};
AttnOperands attn_operands(const Checker& c, const Plan& plan, const TaskParams& p) {
  const int64_t hd = p.head_dim;
  if (hd <= 0) c.bad(fmt::format("head_dim {} must be positive", hd));
  const Buffer& q = c.buf("in", p.in, BufDType::F32, 1);
  const Buffer& kc = c.buf("in2", p.in2, BufDType::BF16, 2);
  const Buffer& vc = c.buf("in3", p.in3, BufDType::BF16, 2);
  if (kc.kind != BufferKind::State || vc.kind != BufferKind::State) c.bad("k/v caches (in2, in3) must be state buffers");
  c.dim_eq(kc, 0, plan.context, "k cache rows = plan context");
  c.dim_eq(vc, 0, plan.context, "v cache rows = plan context");
  c.dim_eq(vc, 1, kc.shape[1], "v cache width = k cache width");
  if (kc.shape[1] % hd != 0 || q.shape[0] % hd != 0)
    c.bad(fmt::format("q ({}) and cache width ({}) must be multiples of head_dim {}", q.shape[0], kc.shape[1], hd));
  const int64_t hkv = kc.shape[1] / hd, hq = q.shape[0] / hd;
  if (hq % hkv != 0) c.bad(fmt::format("{} query heads are not a multiple of {} kv heads", hq, hkv));
  return {q, kc, vc, hd, hkv, hq};
}

}  // namespace

Footprint footprint(const Plan& plan, const Task& t) {
  Checker c(plan, t);
  const TaskParams& p = t.p;
  const int64_t rb = p.row_begin, re = p.row_end;
  Footprint f;
  auto read = [&](int32_t buf, std::vector<Interval> dims) { f.reads.push_back({buf, std::move(dims)}); };
  auto write = [&](int32_t buf, std::vector<Interval> dims) { f.writes.push_back({buf, std::move(dims)}); };

  if (p.rope_pairs && t.op != Op::NormMatvec) c.bad("rope_pairs applies to norm_matvec only");
  if (p.l2_prefetch != 0 && t.op != Op::NormMatvec && t.op != Op::LmHeadArgmax && t.op != Op::AttnMatvec)
    c.bad("l2_prefetch applies to norm_matvec, attn_matvec and lm_head_argmax only");
  switch (t.op) {
    case Op::Embed: {
      // in: token I32 [1]; w: table [V, D]; out: F32 [D]; columns [rb, re).
      c.buf("in", p.in, BufDType::I32, 1);
      const Buffer& table = c.weight("w", p.w, 2);
      const Buffer& out = c.buf("out", p.out, BufDType::F32, 1);
      c.dim_eq(out, 0, table.shape[1], "embedding width");
      c.rows(out.shape[0], "embedding columns");
      read(p.in, {fixed(0, 1)});
      read(p.w, {fixed(0, table.shape[0]), fixed(rb, re)});
      write(p.out, {fixed(rb, re)});
      break;
    }
    case Op::RmsNorm: {
      // in, norm, out: F32 [D]; rows [rb, re) of out; the mean needs all of in.
      const Buffer& in = c.buf("in", p.in, BufDType::F32, 1);
      const Buffer& g = c.weight("norm", p.norm, 1);
      const Buffer& out = c.buf("out", p.out, BufDType::F32, 1);
      c.dim_eq(g, 0, in.shape[0], "norm weight");
      c.dim_eq(out, 0, in.shape[0], "output");
      c.rows(in.shape[0], "normalised rows");
      read(p.in, {fixed(0, in.shape[0])});
      read(p.norm, {fixed(rb, re)});
      write(p.out, {fixed(rb, re)});
      break;
    }
    case Op::NormMatvec: {
      // in: F32 [K]; norm: [K] (optional prologue); w, w2: [N, K]; bias, residual: [N];
      // qk_norm: [head_dim]; rope: F32 [head_dim/2]; out: F32 [N], or [ctx, N] at row pos.
      const Buffer& in = c.buf("in", p.in, BufDType::F32, 1);
      const int64_t K = in.shape[0];
      const Buffer& w = c.weight("w", p.w, 2);
      c.dim_eq(w, 1, K, "weight columns = input length");
      const int64_t N = w.shape[0];
      c.rows(N, "weight rows");
      c.absent("in2", p.in2);
      c.absent("in3", p.in3);
      c.absent("out2", p.out2);
      read(p.in, {fixed(0, K)});
      if (p.norm >= 0) {
        c.dim_eq(c.weight("norm", p.norm, 1), 0, K, "norm weight");
        read(p.norm, {fixed(0, K)});
      }
      // With rope_pairs the rows below are the pairs' first rows and their partners, per head.
      if (p.rope_pairs) {
        if (p.rope < 0 || p.qk_norm >= 0 || p.w2 >= 0 || p.residual >= 0)
          c.bad("rope_pairs needs rope and takes no qk_norm (a head's norm needs all its rows), w2 or residual");
        const int64_t hd = p.head_dim;
        if (hd <= 0 || hd % 2 != 0) c.bad(fmt::format("head_dim {} must be positive and even for rope_pairs", hd));
        // Both ends on first-half rows, so the range names exactly the pairs it owns.
        if (re <= rb || rb % hd >= hd / 2 || (re - 1) % hd >= hd / 2)
          c.bad(fmt::format("rope_pairs rows [{}, {}) must start and end in the first half of a head (head_dim {})", rb,
                            re, hd));
        if ((re - 1) / hd * hd + hd > N)
          c.bad(fmt::format("rope_pairs rows [{}, {}) and their partners must lie inside [0, {})", rb, re, N));
      }
      const std::vector<std::pair<int64_t, int64_t>> ranges = matvec_task_rows(p).ranges();
      auto each_range = [&](auto&& fn) {
        for (auto [b, e] : ranges) fn(b, e);
      };
      each_range([&](int64_t b, int64_t e) { read(p.w, {fixed(b, e), fixed(0, K)}); });
      if (p.w2 >= 0) {
        const Buffer& w2 = c.weight("w2", p.w2, 2);
        c.dim_eq(w2, 0, N, "second weight rows");
        c.dim_eq(w2, 1, K, "second weight columns");
        if (p.bias >= 0 || p.qk_norm >= 0 || p.rope >= 0)
          c.bad("a gated (w2) matvec takes no bias, qk_norm or rope");
        read(p.w2, {fixed(rb, re), fixed(0, K)});
      }
      if (p.bias >= 0) {
        c.dim_eq(c.weight("bias", p.bias, 1), 0, N, "bias");
        each_range([&](int64_t b, int64_t e) { read(p.bias, {fixed(b, e)}); });
      }
      if ((p.qk_norm >= 0 || p.rope >= 0) && !p.rope_pairs) {
        if (p.head_dim <= 0 || p.head_dim % 2 != 0)
          c.bad(fmt::format("head_dim {} must be positive and even for qk_norm/rope", p.head_dim));
        if (rb % p.head_dim != 0 || re % p.head_dim != 0)
          c.bad(fmt::format("rows [{}, {}) must align to heads of {} for qk_norm/rope", rb, re, p.head_dim));
      }
      if (p.qk_norm >= 0) {
        c.dim_eq(c.weight("qk_norm", p.qk_norm, 1), 0, p.head_dim, "qk_norm weight");
        read(p.qk_norm, {fixed(0, p.head_dim)});
      }
      if (p.rope >= 0) {
        c.dim_eq(c.buf("rope", p.rope, BufDType::F32, 1), 0, p.head_dim / 2, "rope frequencies");
        read(p.rope, {fixed(0, p.head_dim / 2)});
      }
      if (p.residual >= 0) {
        c.dim_eq(c.buf("residual", p.residual, BufDType::F32, 1), 0, N, "residual");
        read(p.residual, {fixed(rb, re)});
      }
      if (p.out_at_pos) {
        const Buffer& out = c.buf("out", p.out, BufDType::BF16, 2);
        if (out.kind != BufferKind::State) c.bad(fmt::format("out_at_pos needs a state buffer, '{}' is not", out.name));
        c.dim_eq(out, 0, plan.context, "cache rows = plan context");
        c.dim_eq(out, 1, N, "cache columns");
        each_range([&](int64_t b, int64_t e) { write(p.out, {Interval{Affine{0, 1}, Affine{1, 1}}, fixed(b, e)}); });
      } else {
        c.dim_eq(c.buf("out", p.out, BufDType::F32, 1), 0, N, "output");
        each_range([&](int64_t b, int64_t e) { write(p.out, {fixed(b, e)}); });
      }
      break;
    }
    case Op::AttnPartial: {
      // in: q F32 [Hq*hd]; in2, in3: k/v cache [ctx, Hkv*hd]; rows [rb, re) = kv heads.
      // splits == 1: out = attention output F32 [Hq*hd] (no out2).
      // splits > 1: out = partial outputs F32 [Hq, splits, hd], out2 = (max, sum) F32 [Hq, splits, 2].
      const AttnOperands a = attn_operands(c, plan, p);
      const Buffer& q = a.q;
      const int64_t hd = a.hd, hkv = a.hkv, hq = a.hq, group = hq / hkv;
      c.rows(hkv, "kv heads");
      if (p.splits < 1 || p.split < 0 || p.split >= p.splits)
        c.bad(fmt::format("split {} of {} is not valid", p.split, p.splits));
      if (p.chunk <= 0) c.bad(fmt::format("chunk {} must be positive", p.chunk));
      if (mul(p.chunk, p.splits, c) < plan.context)
        c.bad(fmt::format("{} splits of {} positions do not cover the context of {}", p.splits, p.chunk, plan.context));
      const Checker& w = c;
      const int64_t q0 = mul(mul(rb, group, w), hd, w), q1 = mul(mul(re, group, w), hd, w);
      read(p.in, {fixed(q0, q1)});
      // Every split declares the rows [0, pos] it may read (its balanced run, attn_split, is a
      // sub-range that moves with pos and so has no affine bounds): a superset, which is sound
      // for the validator (reads only; rows [0, pos] are written before every split runs).
      Interval positions{Affine{0, 0}, Affine{1, 1}, plan.context};
      read(p.in2, {positions, fixed(mul(rb, hd, w), mul(re, hd, w))});
      read(p.in3, {positions, fixed(mul(rb, hd, w), mul(re, hd, w))});
      if (p.splits == 1) {
        c.absent("out2", p.out2);
        c.dim_eq(c.buf("out", p.out, BufDType::F32, 1), 0, q.shape[0], "attention output");
        write(p.out, {fixed(q0, q1)});
      } else {
        const Buffer& po = c.buf("out", p.out, BufDType::F32, 3);
        const Buffer& pm = c.buf("out2", p.out2, BufDType::F32, 3);
        c.dim_eq(po, 0, hq, "partial heads");
        c.dim_eq(po, 1, p.splits, "partial splits");
        c.dim_eq(po, 2, hd, "partial head_dim");
        c.dim_eq(pm, 0, hq, "partial heads");
        c.dim_eq(pm, 1, p.splits, "partial splits");
        c.dim_eq(pm, 2, 2, "(max, sum) pairs");
        const int64_t h0 = mul(rb, group, c), h1 = mul(re, group, c);
        write(p.out, {fixed(h0, h1), fixed(p.split, p.split + 1), fixed(0, hd)});
        write(p.out2, {fixed(h0, h1), fixed(p.split, p.split + 1), fixed(0, 2)});
      }
      break;
    }
    case Op::AttnCombine: {
      // in: partial outputs [Hq, S, hd]; in2: (max, sum) [Hq, S, 2]; out: F32 [Hq*hd];
      // rows [rb, re) = query heads.
      const Buffer& po = c.buf("in", p.in, BufDType::F32, 3);
      const Buffer& pm = c.buf("in2", p.in2, BufDType::F32, 3);
      const int64_t hq = po.shape[0], s = po.shape[1], hd = po.shape[2];
      if (p.head_dim != hd) c.bad(fmt::format("head_dim {} differs from the partials' {}", p.head_dim, hd));
      if (p.splits != s) c.bad(fmt::format("splits {} differs from the partials' {}", p.splits, s));
      c.dim_eq(pm, 0, hq, "partial heads");
      c.dim_eq(pm, 1, s, "partial splits");
      c.dim_eq(pm, 2, 2, "(max, sum) pairs");
      const Buffer& out = c.buf("out", p.out, BufDType::F32, 1);
      c.dim_eq(out, 0, mul(hq, hd, c), "attention output");
      c.rows(hq, "query heads");
      read(p.in, {fixed(rb, re), fixed(0, s), fixed(0, hd)});
      read(p.in2, {fixed(rb, re), fixed(0, s), fixed(0, 2)});
      write(p.out, {fixed(rb * hd, re * hd)});
      break;
    }
    case Op::AttnMatvec: {
      // in: q F32 [Hq*hd]; in2, in3: k/v caches [ctx, Hkv*hd]; w: [N, Hq*hd]; residual: [N]
      // (optional); out: F32 [N]. Rows [rb, re) of out; every head's attention over rows
      // [0, pos] of the caches, in shared memory (plan/attn_fold.h), hence the context bound.
      const AttnOperands a = attn_operands(c, plan, p);
      const Buffer &q = a.q, &kc = a.kc, &vc = a.vc;
      // The GPU prologue reads both caches with the k cache's element type.
      if (kc.dtype != vc.dtype) c.bad("k and v caches must share a dtype");
      if (plan.context > kAttnFoldMaxContext)
        c.bad(fmt::format("attention folded into a matvec holds every cached row in shared memory: the plan's "
                          "context {} exceeds its limit of {}",
                          plan.context, kAttnFoldMaxContext));
      const Buffer& w = c.weight("w", p.w, 2);
      c.dim_eq(w, 1, q.shape[0], "weight columns = attention output length");
      const int64_t N = w.shape[0];
      c.rows(N, "weight rows");
      c.absent("norm", p.norm);
      c.absent("w2", p.w2);
      c.absent("bias", p.bias);
      c.absent("qk_norm", p.qk_norm);
      c.absent("rope", p.rope);
      c.absent("out2", p.out2);
      if (p.out_at_pos) c.bad("out_at_pos applies to norm_matvec only");
      if (p.splits != 1 || p.split != 0) c.bad(fmt::format("split {} of {}: attn_matvec does not split", p.split, p.splits));
      const Interval positions{Affine{0, 0}, Affine{1, 1}, plan.context};
      read(p.in, {fixed(0, q.shape[0])});
      read(p.in2, {positions, fixed(0, kc.shape[1])});
      read(p.in3, {positions, fixed(0, vc.shape[1])});
      read(p.w, {fixed(rb, re), fixed(0, q.shape[0])});
      if (p.residual >= 0) {
        c.dim_eq(c.buf("residual", p.residual, BufDType::F32, 1), 0, N, "residual");
        read(p.residual, {fixed(rb, re)});
      }
      c.dim_eq(c.buf("out", p.out, BufDType::F32, 1), 0, N, "output");
      write(p.out, {fixed(rb, re)});
      break;
    }
    case Op::LmHeadArgmax: {
      // in: F32 [D]; norm: [D]; w: [V, D]; out: logits F32 [V]; out2: partials F32 [P, 2]
      // holding (max logit, its index as a float; exact below 2^24); index = this slot.
      const Buffer& in = c.buf("in", p.in, BufDType::F32, 1);
      const int64_t D = in.shape[0];
      const Buffer& w = c.weight("w", p.w, 2);
      c.dim_eq(w, 1, D, "LM head columns");
      c.dim_eq(c.weight("norm", p.norm, 1), 0, D, "final norm weight");
      const int64_t V = w.shape[0];
      if (V > (int64_t(1) << 24)) c.bad(fmt::format("vocabulary of {} exceeds 2^24", V));
      c.dim_eq(c.buf("out", p.out, BufDType::F32, 1), 0, V, "logits");
      const Buffer& parts = c.buf("out2", p.out2, BufDType::F32, 2);
      c.dim_eq(parts, 1, 2, "(value, index) pairs");
      if (p.index < 0 || p.index >= parts.shape[0])
        c.bad(fmt::format("partial slot {} outside [0, {})", p.index, parts.shape[0]));
      c.rows(V, "vocabulary rows");
      read(p.in, {fixed(0, D)});
      read(p.norm, {fixed(0, D)});
      read(p.w, {fixed(rb, re), fixed(0, D)});
      write(p.out, {fixed(rb, re)});
      write(p.out2, {fixed(p.index, p.index + 1), fixed(0, 2)});
      break;
    }
    case Op::ArgmaxReduce: {
      // in: partials F32 [P, 2]; count = P; out: token I32 [1].
      const Buffer& parts = c.buf("in", p.in, BufDType::F32, 2);
      c.dim_eq(parts, 1, 2, "(value, index) pairs");
      if (p.count != parts.shape[0])
        c.bad(fmt::format("count {} differs from the {} partial slots", p.count, parts.shape[0]));
      c.dim_eq(c.buf("out", p.out, BufDType::I32, 1), 0, 1, "token output");
      read(p.in, {fixed(0, parts.shape[0]), fixed(0, 2)});
      write(p.out, {fixed(0, 1)});
      break;
    }
  }
  return f;
}

}  // namespace tessera

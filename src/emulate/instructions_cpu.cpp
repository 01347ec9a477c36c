// CPU twins of the plan's opcodes (docs/SCHEDULE_IR.md), one function per opcode.
//
// The arithmetic repeats the reference engine's operation order on purpose (the same
// eight-lane dot product, the same RMSNorm and softmax formulas, engine/rope.h for RoPE):
// in fp32 mode a plan without split-KV then reproduces CpuEngine's logits bit for bit, and
// any difference the emulator reports is the plan's doing, not rounding noise. Storage may
// be f32 or bf16 for every float operand; reads upcast and writes round to nearest even,
// which is exactly where the GPU rounds.
//
// Every twin first calls footprint(), so parameters that do not fit the opcode are a
// tessera::Error before any element is touched, and then writes only the footprint's
// write regions (tests/emulate_twins_test.cpp checks this with poisoned buffers).
#include "emulate/instructions_cpu.h"

#include "engine/kernels_cpu.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/dtype.h"
#include "core/error.h"
#include "engine/rope.h"
#include "plan/footprint.h"

namespace tessera {

namespace {

// Row `row` of w [rows, cols] dotted with x[cols].
float dot_row(const BufferData& w, int64_t row, int64_t cols, const float* x) {
  const int64_t off = row * cols;
  // The engine's fixed-order dot product (kernels_cpu.h), so twins match it bit for bit.
  if (w.dtype == BufDType::BF16) return dot_bf16(static_cast<const uint16_t*>(w.data) + off, x, cols);
  return dot_f32(static_cast<const float*>(w.data) + off, x, cols);
}

float get(const BufferData& b, int64_t i) {
  if (b.dtype == BufDType::BF16) return bf16_to_f32(static_cast<const uint16_t*>(b.data)[i]);
  return static_cast<const float*>(b.data)[i];
}

void put(BufferData& b, int64_t i, float v) {
  if (b.dtype == BufDType::BF16)
    static_cast<uint16_t*>(b.data)[i] = f32_to_bf16(v);
  else
    static_cast<float*>(b.data)[i] = v;
}

// Elements [begin, begin+n) of b as fp32: a pointer into f32 storage, or a converted copy.
const float* f32_span(const BufferData& b, int64_t begin, int64_t n, std::vector<float>& scratch) {
  if (b.dtype == BufDType::F32) return static_cast<const float*>(b.data) + begin;
  scratch.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) scratch[size_t(i)] = get(b, begin + i);
  return scratch.data();
}

// out[n] = g[i] * (x[i] * rsqrt(mean(x^2) + eps)), the engine's rmsnorm; out may alias x.
void rmsnorm(float* out, const float* x, const BufferData& g, int64_t g_off, int64_t n, float eps) {
  float ss = 0.f;
  for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const float r = 1.f / std::sqrt(ss / float(n) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = get(g, g_off + i) * (x[i] * r);
}

float silu(float a) { return a / (1.f + std::exp(-a)); }

// Per-thread scratch: twins run concurrently on the emulator's workers.
struct Scratch {
  std::vector<float> in, h, y, y2, res, inv_freq, cos, sin, scores, acc, conv;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

class Operands {
 public:
  Operands(const Plan& plan, const Task& t, std::vector<BufferData>& bufs)
      : plan_(plan), t_(t), bufs_(bufs) {
    if (bufs.size() != plan.buffers.size())
      fail("task {} ({}): {} buffer storages for a plan of {} buffers", t.id, op_name(t.op),
           bufs.size(), plan.buffers.size());
  }
  // The storage behind operand `field`, checked against the plan's buffer.
  BufferData& operator()(const char* field, int32_t id) const {
    const Buffer& b = plan_.buffers[size_t(id)];
    BufferData& d = bufs_[size_t(id)];
    if (d.shape != b.shape)
      fail("task {} ({}): operand '{}' (buffer '{}'): storage shape [{}] differs from the plan's [{}]",
           t_.id, op_name(t_.op), field, b.name, fmt::join(d.shape, ", "), fmt::join(b.shape, ", "));
    const bool want_int = b.dtype == BufDType::I32, is_int = d.dtype == BufDType::I32;
    if (want_int != is_int)
      fail("task {} ({}): operand '{}' (buffer '{}'): storage dtype {} cannot hold a {} buffer",
           t_.id, op_name(t_.op), field, b.name, buf_dtype_name(d.dtype), buf_dtype_name(b.dtype));
    if (!d.data && d.numel() > 0)
      fail("task {} ({}): operand '{}' (buffer '{}') has no storage", t_.id, op_name(t_.op), field, b.name);
    return d;
  }

 private:
  const Plan& plan_;
  const Task& t_;
  std::vector<BufferData>& bufs_;
};

// embed: out[c] = table[token][c] for c in [rb, re).
void embed(const Task& t, const Operands& op) {
  const TaskParams& p = t.p;
  const BufferData& tok = op("in", p.in);
  const BufferData& table = op("w", p.w);  // [V, D]
  BufferData& out = op("out", p.out);      // [D]
  const int64_t V = table.shape[0], D = table.shape[1];
  const int32_t token = static_cast<const int32_t*>(tok.data)[0];
  if (token < 0 || token >= V)
    fail("task {} (embed): token id {} is outside the embedding table of {} rows", t.id, token, V);
  for (int64_t c = p.row_begin; c < p.row_end; ++c) put(out, c, get(table, int64_t(token) * D + c));
}

// rmsnorm: out[r] = norm[r] * (in[r] * rsqrt(mean(in^2) + eps)) for r in [rb, re).
void rmsnorm_op(const Task& t, const Operands& op) {
  const TaskParams& p = t.p;
  const BufferData& in = op("in", p.in);
  const BufferData& g = op("norm", p.norm);
  BufferData& out = op("out", p.out);
  const int64_t D = in.shape[0];
  Scratch& s = scratch();
  const float* x = f32_span(in, 0, D, s.in);
  float ss = 0.f;
  for (int64_t i = 0; i < D; ++i) ss += x[i] * x[i];
  const float r = 1.f / std::sqrt(ss / float(D) + p.eps);
  for (int64_t i = p.row_begin; i < p.row_end; ++i) put(out, i, get(g, i) * (x[i] * r));
}

// norm_matvec: h[K] = [rmsnorm(in) * norm]; y[rows] = W h (+bias) | silu(W h) * (W2 h);
// per head: [qk-norm], [rope at pos]; [+ residual]; out[r] or out[pos][r].
void norm_matvec(const Task& t, const Operands& op, int64_t pos) {
  const TaskParams& p = t.p;
  Scratch& s = scratch();
  const BufferData& in = op("in", p.in);
  const BufferData& w = op("w", p.w);  // [N, K]
  const int64_t K = in.shape[0], N = w.shape[0];
  const TaskRows seg = matvec_task_rows(p);  // y[k] is output row seg.row(k)
  const int64_t n = seg.rows();

  const float* h = f32_span(in, 0, K, s.in);
  if (p.norm >= 0) {
    s.h.resize(size_t(K));
    rmsnorm(s.h.data(), h, op("norm", p.norm), 0, K, p.eps);
    h = s.h.data();
  }

  // y[k] for the task's rows
  s.y.resize(size_t(n));
  float* y = s.y.data();
  const BufferData* bias = p.bias >= 0 ? &op("bias", p.bias) : nullptr;
  const BufferData* w2 = p.w2 >= 0 ? &op("w2", p.w2) : nullptr;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t r = seg.row(k);
    float v = dot_row(w, r, K, h);
    if (bias) v = v + get(*bias, r);
    if (w2) v = silu(v) * dot_row(*w2, r, K, h);
    y[k] = v;
  }

  const int64_t hd = p.head_dim;
  if (p.qk_norm >= 0) {
    const BufferData& g = op("qk_norm", p.qk_norm);
    for (int64_t h0 = 0; h0 < n; h0 += hd) rmsnorm(y + h0, y + h0, g, 0, hd, p.eps);
  }
  if (p.rope >= 0) {
    const BufferData& rope = op("rope", p.rope);  // [hd/2] inverse frequencies
    s.inv_freq.resize(size_t(hd / 2));
    for (int64_t i = 0; i < hd / 2; ++i) s.inv_freq[size_t(i)] = get(rope, i);
    s.cos.resize(size_t(hd / 2));
    s.sin.resize(size_t(hd / 2));
    rope_cos_sin(s.inv_freq, int(pos), s.cos.data(), s.sin.data());
    if (p.rope_pairs) {
      // Pair k rotates (y[k], y[P + k]) by its index in its head; runs of consecutive
      // indices, one per head the task's pairs span.
      const int64_t P = seg.pairs.count;
      for (int64_t k = 0; k < P;) {
        const int64_t i = seg.pairs.rot(k), run = std::min(hd / 2 - i, P - k);
        apply_rope_pairs(y + k, y + P + k, int(run), s.cos.data() + i, s.sin.data() + i);
        k += run;
      }
    } else {
      for (int64_t h0 = 0; h0 < n; h0 += hd) apply_rope(y + h0, int(hd), s.cos.data(), s.sin.data());
    }
  }
  if (p.residual >= 0) {
    const BufferData& res = op("residual", p.residual);
    for (int64_t k = 0; k < n; ++k) y[k] = y[k] + get(res, seg.row(k));
  }

  BufferData& out = op("out", p.out);
  const int64_t base = p.out_at_pos ? pos * N : 0;
  for (int64_t k = 0; k < n; ++k) put(out, base + seg.row(k), y[k]);
}

// Attention of one query head q[hd] over cache rows [t0, t0 + npos) of kv head g, the
// engine's order: scores, max-subtracted softmax normalised before the weighted sum.
// acc[hd] receives the sum; returns (max, sum of exponentials): (-inf, 0) when empty.
std::pair<float, float> attend_head(const float* q, const BufferData& kc, const BufferData& vc, int64_t g,
                                    int64_t hd, int64_t t0, int64_t npos, float* acc) {
  Scratch& s = scratch();
  const int64_t width = kc.shape[1];
  const float scale = 1.f / std::sqrt(float(hd));
  s.scores.resize(size_t(std::max<int64_t>(npos, 1)));
  float* sc = s.scores.data();
  // sc[t] = q . k_t * scale
  for (int64_t i = 0; i < npos; ++i) {
    const int64_t k_off = (t0 + i) * width + g * hd;
    float d = 0.f;
    for (int64_t j = 0; j < hd; ++j) d += q[j] * get(kc, k_off + j);
    sc[i] = d * scale;
  }
  // softmax over the chunk, as the engine's: max, exp(x - max), sum, divide
  float m = -std::numeric_limits<float>::infinity(), l = 0.f;
  for (int64_t i = 0; i < npos; ++i) m = std::max(m, sc[i]);
  for (int64_t i = 0; i < npos; ++i) {
    sc[i] = std::exp(sc[i] - m);
    l += sc[i];
  }
  for (int64_t i = 0; i < npos; ++i) sc[i] /= l;
  // acc[hd] = sum_t p_t v_t
  std::fill(acc, acc + hd, 0.f);
  for (int64_t i = 0; i < npos; ++i) {
    const int64_t v_off = (t0 + i) * width + g * hd;
    const float pr = sc[i];
    for (int64_t j = 0; j < hd; ++j) acc[j] += pr * get(vc, v_off + j);
  }
  return {m, l};
}

// attn_partial: per query head of kv heads [rb, re), attention over the positions of split
// `split`: attn_split(pos, split, splits) (plan.h).
void attn_partial(const Task& t, const Operands& op, int64_t pos) {
  const TaskParams& p = t.p;
  Scratch& s = scratch();
  const BufferData& qb = op("in", p.in);      // [Hq*hd]
  const BufferData& kc = op("in2", p.in2);    // [ctx, Hkv*hd]
  const BufferData& vc = op("in3", p.in3);    // [ctx, Hkv*hd]
  const int64_t hd = p.head_dim, width = kc.shape[1];
  const int64_t hkv = width / hd, hq = qb.shape[0] / hd, group = hq / hkv;
  const PosRange run = attn_split(pos, p.split, p.splits);
  const int64_t npos = run.end > run.begin ? run.end - run.begin : 0;

  BufferData& out = op("out", p.out);
  BufferData* stats = p.splits > 1 ? &op("out2", p.out2) : nullptr;  // [Hq, S, 2]
  const float* q_all = f32_span(qb, 0, qb.shape[0], s.in);
  s.acc.resize(size_t(hd));
  for (int64_t g = p.row_begin; g < p.row_end; ++g) {
    for (int64_t hh = g * group; hh < (g + 1) * group; ++hh) {
      float* acc = s.acc.data();
      const auto [m, l] = attend_head(q_all + hh * hd, kc, vc, g, hd, run.begin, npos, acc);
      if (!stats) {
        for (int64_t j = 0; j < hd; ++j) put(out, hh * hd + j, acc[j]);
      } else {
        const int64_t slot = hh * p.splits + p.split;
        for (int64_t j = 0; j < hd; ++j) put(out, slot * hd + j, acc[j]);
        put(*stats, slot * 2, m);      // -inf for an empty chunk
        put(*stats, slot * 2 + 1, l);  // 0 for an empty chunk
      }
    }
  }
}

// attn_matvec: h = attention of every query head over rows [0, pos]; out[r] = W[r] . h
// (+ residual[r]) for r in [rb, re). The same arithmetic as attn_partial without splits
// followed by the o projection's norm_matvec, so a folded plan computes what the unfolded
// one does, bit for bit.
void attn_matvec(const Task& t, const Operands& op, int64_t pos) {
  const TaskParams& p = t.p;
  Scratch& s = scratch();
  const BufferData& qb = op("in", p.in);
  const BufferData& kc = op("in2", p.in2);
  const BufferData& vc = op("in3", p.in3);
  const BufferData& w = op("w", p.w);
  const int64_t hd = p.head_dim, K = qb.shape[0];
  const int64_t hkv = kc.shape[1] / hd, group = K / hd / hkv;
  const float* q_all = f32_span(qb, 0, K, s.in);
  s.h.resize(size_t(K));
  for (int64_t hh = 0; hh < K / hd; ++hh) attend_head(q_all + hh * hd, kc, vc, hh / group, hd, 0, pos + 1, s.h.data() + hh * hd);
  BufferData& out = op("out", p.out);
  const BufferData* res = p.residual >= 0 ? &op("residual", p.residual) : nullptr;
  for (int64_t r = p.row_begin; r < p.row_end; ++r) {
    float y = dot_row(w, r, K, s.h.data());
    if (res) y = y + get(*res, r);
    put(out, r, y);
  }
}

// attn_combine: out[h] = sum_s l_s e^(m_s - M) o_s / sum_s l_s e^(m_s - M), M = max m_s.
void attn_combine(const Task& t, const Operands& op) {
  const TaskParams& p = t.p;
  Scratch& s = scratch();
  const BufferData& po = op("in", p.in);   // [Hq, S, hd]
  const BufferData& pm = op("in2", p.in2); // [Hq, S, 2]
  BufferData& out = op("out", p.out);      // [Hq*hd]
  const int64_t S = po.shape[1], hd = po.shape[2];
  s.acc.resize(size_t(hd));
  for (int64_t h = p.row_begin; h < p.row_end; ++h) {
    float M = -std::numeric_limits<float>::infinity();
    for (int64_t k = 0; k < S; ++k) {
      const float m = get(pm, (h * S + k) * 2);
      if (get(pm, (h * S + k) * 2 + 1) > 0.f) M = std::max(M, m);
    }
    float L = 0.f;
    float* acc = s.acc.data();
    std::fill(acc, acc + hd, 0.f);
    for (int64_t k = 0; k < S; ++k) {
      const float l = get(pm, (h * S + k) * 2 + 1);
      if (!(l > 0.f)) continue;  // empty chunk: (-inf, 0) contributes nothing
      const float a = l * std::exp(get(pm, (h * S + k) * 2) - M);
      L += a;
      for (int64_t j = 0; j < hd; ++j) acc[j] += a * get(po, (h * S + k) * hd + j);
    }
    for (int64_t j = 0; j < hd; ++j) put(out, h * hd + j, acc[j] / L);
  }
}

// lm_head_argmax: logits[r] = w[r] . (rmsnorm(in) * norm) for r in [rb, re);
// partials[index] = (max, argmax) of the tile, lowest index on ties.
void lm_head_argmax(const Task& t, const Operands& op) {
  const TaskParams& p = t.p;
  Scratch& s = scratch();
  const BufferData& in = op("in", p.in);
  const BufferData& w = op("w", p.w);  // [V, D]
  BufferData& logits = op("out", p.out);
  BufferData& parts = op("out2", p.out2);  // [P, 2]
  const int64_t D = in.shape[0];
  s.h.resize(size_t(D));
  rmsnorm(s.h.data(), f32_span(in, 0, D, s.in), op("norm", p.norm), 0, D, p.eps);
  float best = 0.f;
  int64_t best_i = -1;
  for (int64_t r = p.row_begin; r < p.row_end; ++r) {
    const float v = dot_row(w, r, D, s.h.data());
    put(logits, r, v);
    if (best_i < 0 || v > best) {
      best = v;
      best_i = r;
    }
  }
  put(parts, int64_t(p.index) * 2, best);
  put(parts, int64_t(p.index) * 2 + 1, float(best_i));
}

// argmax_reduce: token = index of the largest partial value, lowest index on ties.
void argmax_reduce(const Task& t, const Operands& op) {
  const TaskParams& p = t.p;
  const BufferData& parts = op("in", p.in);  // [P, 2]
  BufferData& out = op("out", p.out);
  float best = 0.f, best_i = -1.f;
  for (int64_t k = 0; k < p.count; ++k) {
    const float v = get(parts, 2 * k), i = get(parts, 2 * k + 1);
    if (!(i >= 0.f && i < float(1 << 24) && i == std::floor(i)))
      fail("task {} (argmax_reduce): partial {} holds index {}, not a token id", t.id, k, i);
    if (best_i < 0.f || v > best || (v == best && i < best_i)) {
      best = v;
      best_i = i;
    }
  }
  static_cast<int32_t*>(out.data)[0] = int32_t(best_i);
}

}  // namespace

void execute_task(const Plan& plan, const Task& t, std::vector<BufferData>& bufs, int64_t pos) {
  if (pos < 0 || pos >= plan.context)
    fail("task {} ({}): position {} is outside the plan's context [0, {})", t.id, op_name(t.op), pos,
         plan.context);
  (void)footprint(plan, t);  // operands fit the opcode, or a tessera::Error naming them
  Operands op(plan, t, bufs);
  switch (t.op) {
    case Op::Embed: embed(t, op); break;
    case Op::RmsNorm: rmsnorm_op(t, op); break;
    case Op::NormMatvec: norm_matvec(t, op, pos); break;
    case Op::AttnPartial: attn_partial(t, op, pos); break;
    case Op::AttnCombine: attn_combine(t, op); break;
    case Op::LmHeadArgmax: lm_head_argmax(t, op); break;
    case Op::ArgmaxReduce: argmax_reduce(t, op); break;
    case Op::AttnMatvec: attn_matvec(t, op, pos); break;
  }
}

}  // namespace tessera

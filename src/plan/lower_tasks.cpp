// Emits the step's tasks stage by stage, in the op graph's order, fusing each group of graph
// ops into one instruction: RMSNorm + q/k/v projection + bias + qk-norm + RoPE + KV append
// (norm_matvec), attention (attn_partial [+ attn_combine]), o projection + residual,
// RMSNorm + gate/up + SiLU-multiply, down projection + residual, final norm + LM head +
// argmax partials, argmax reduction.
//
// Dependencies are as fine as the data allows (counter_granularity "group"): a norm
// prologue needs all of its input vector (the mean runs over every element), so those
// stages join on the whole previous stage; attention for kv head g needs only the q heads
// of its GQA group and k/v head g, so each kv group gets its own counter, and a combine
// waits only on the splits of its own group. Every wait's threshold is the full sum of its
// counter's increments (Builder::wait_all), so no partial-threshold ambiguity arises.
// Every layer has its own activation buffers: no scratch reuse, hence no write-after-read
// hazards to order.
#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "plan/attn_fold.h"
#include "plan/lower_internal.h"

namespace tessera::lowering {

namespace {

constexpr BufferKind kAct = BufferKind::Activation;
constexpr BufDType kF32 = BufDType::F32;

struct LayerIn {
  int32_t x;        // the layer's input activation x.l
  int32_t x_ready;  // counter: x.l complete
};

// Counters for the per-kv-group joins; with granularity "op" every group shares one.
class GroupCounters {
 public:
  GroupCounters(Builder& b, const std::string& name, int64_t groups, bool by_group) {
    if (by_group)
      for (int64_t g = 0; g < groups; ++g) ids_.push_back(b.add_counter(fmt::format("{}.g{}", name, g)));
    else
      ids_.push_back(b.add_counter(name));
  }
  int32_t of(int64_t g) const { return ids_.size() == 1 ? ids_[0] : ids_[size_t(g)]; }
  // Signals the counters of groups [g0, g1) once each.
  void signal(Builder& b, Task& t, int64_t g0, int64_t g1) const {
    if (ids_.size() == 1) return b.signal(t, ids_[0]);
    for (int64_t g = g0; g < g1; ++g) b.signal(t, ids_[size_t(g)]);
  }

 private:
  std::vector<int32_t> ids_;
};

// Separate rmsnorm tasks (fuse_norm off): out = rmsnorm(in) * norm, tiled by rows.
int32_t emit_rmsnorm(Builder& b, const Tiles& tiles, const std::string& name, int32_t in, int32_t norm,
                     int32_t out, int32_t in_ready) {
  b.begin_stage();
  const int32_t done = b.add_counter(name);
  for (auto [r0, r1] : split_range(b.config.hidden_size, tiles.norm_rows)) {
    TaskParams p;
    p.in = in;
    p.norm = norm;
    p.out = out;
    p.row_begin = r0;
    p.row_end = r1;
    p.eps = b.config.rms_norm_eps;
    Task& t = b.add_task(Op::RmsNorm, p);
    b.wait_all(t, in_ready);
    b.signal(t, done);
  }
  return done;
}

// Layer l's weight `suffix` (model.h's canonical names) and its f32 activation "name.l".
int32_t layer_w(Builder& b, int l, const char* suffix, std::vector<int64_t> shape) {
  return b.weight(layer_weight(l, suffix), std::move(shape));
}
int32_t layer_act(Builder& b, int l, const std::string& name, std::vector<int64_t> shape) {
  return b.add_buffer(fmt::format("{}.{}", name, l), kAct, kF32, std::move(shape));
}

// An L2 prefetch hint (TaskParams::l2_prefetch): `kib` KiB of a tile of weight w that
// reads `rows` rows, never more than those rows (larger knob values ask for the tile).
int64_t tile_hint(const Builder& b, int kib, int64_t rows, int32_t w) {
  const Buffer& m = b.plan.buffers[size_t(w)];
  return std::min<int64_t>(int64_t(kib) * 1024, rows * m.shape[1] * buf_dtype_size(m.dtype));
}

// Whether the layer's attention is folded into the o projection (LowerConfig::fold_attention):
// where the plan's context lets every cached row sit in shared memory on every target.
bool fold_attention(const Builder& b, const Tiles& tiles) {
  const ModelConfig& c = b.config;
  const std::string& mode = b.knobs.fold_attention;
  if (mode == "off" || b.plan.context > kAttnFoldMaxContext) return false;
  const int64_t o_bytes = int64_t(c.hidden_size) * c.num_heads * c.head_dim * (b.knobs.weight_dtype == "f32" ? 4 : 2);
  if (mode == "auto" && o_bytes > kAttnFoldAutoMaxOBytes) return false;
  const AttnFoldSmem m = attn_fold_smem(c.num_heads * c.head_dim, c.head_dim, c.num_kv_heads * c.head_dim,
                                        b.plan.context, b.knobs.kv_dtype == "bf16", tiles.o_rows);
  return m.total <= kAttnFoldMaxFloats;
}

// The o projection + residual, xa = x + attention @ Wo^T, in tiles of o_rows: `input` sets
// where a tile's input vector comes from (the attention output, or q and the caches when
// attention is folded in), `wait` its waits.
template <class Input, class WaitOn>
LayerIn emit_o_proj(Builder& b, const Tiles& tiles, int l, int32_t x, Op op, Input input, WaitOn wait) {
  const ModelConfig& c = b.config;
  const int64_t D = c.hidden_size, qd = c.num_heads * c.head_dim;
  const int32_t wo = layer_w(b, l, "self_attn.o_proj.weight", {D, qd});
  const int32_t xa = layer_act(b, l, "xa", {D});
  b.begin_stage();
  const int32_t xa_ready = b.add_counter(fmt::format("l{}.xa", l));
  for (auto [r0, r1] : split_range(D, tiles.o_rows)) {
    TaskParams p;
    input(p);
    p.w = wo;
    p.residual = x;
    p.out = xa;
    p.row_begin = r0;
    p.row_end = r1;
    if (b.knobs.o_prefetch) p.l2_prefetch = (r1 - r0) * qd * buf_dtype_size(b.plan.buffers[size_t(wo)].dtype);
    Task& t = b.add_task(op, p);
    wait(t);
    b.signal(t, xa_ready);
  }
  return {xa, xa_ready};
}

LayerIn emit_mlp(Builder& b, const Tiles& tiles, int l, LayerIn xa);

LayerIn emit_layer(Builder& b, const Tiles& tiles, int l, LayerIn in, int32_t rope) {
  const ModelConfig& c = b.config;
  const LowerConfig& k = b.knobs;
  const bool by_group = k.counter_granularity == "group";
  const int64_t D = c.hidden_size, hd = c.head_dim;
  const int64_t Hq = c.num_heads, Hkv = c.num_kv_heads, group = Hq / Hkv;
  const int64_t ctx = b.plan.context;
  const BufDType kv_dtype = k.kv_dtype == "f32" ? BufDType::F32 : BufDType::BF16;
  const std::string L = fmt::format("l{}", l);

  const int32_t in_norm = layer_w(b, l, "input_layernorm.weight", {D});
  const int32_t wq = layer_w(b, l, "self_attn.q_proj.weight", {Hq * hd, D});
  const int32_t wk = layer_w(b, l, "self_attn.k_proj.weight", {Hkv * hd, D});
  const int32_t wv = layer_w(b, l, "self_attn.v_proj.weight", {Hkv * hd, D});
  int32_t bq = -1, bk = -1, bv = -1, qn = -1, kn = -1;
  if (c.attention_bias) {
    bq = layer_w(b, l, "self_attn.q_proj.bias", {Hq * hd});
    bk = layer_w(b, l, "self_attn.k_proj.bias", {Hkv * hd});
    bv = layer_w(b, l, "self_attn.v_proj.bias", {Hkv * hd});
  }
  if (c.qk_norm) {
    qn = layer_w(b, l, "self_attn.q_norm.weight", {hd});
    kn = layer_w(b, l, "self_attn.k_norm.weight", {hd});
  }
  const int32_t q = layer_act(b, l, "q", {Hq * hd});
  const int32_t kc = b.add_buffer(fmt::format("k_cache.{}", l), BufferKind::State, kv_dtype, {ctx, Hkv * hd});
  const int32_t vc = b.add_buffer(fmt::format("v_cache.{}", l), BufferKind::State, kv_dtype, {ctx, Hkv * hd});

  // --- q/k/v projections (+ norm prologue, bias, qk-norm, RoPE, KV append) ---
  int32_t qkv_in = in.x, qkv_norm = in_norm, qkv_ready = in.x_ready;
  if (!k.fuse_norm) {
    qkv_in = layer_act(b, l, "xn", {D});
    qkv_ready = emit_rmsnorm(b, tiles, L + ".norm1", in.x, in_norm, qkv_in, in.x_ready);
    qkv_norm = -1;
  }
  b.begin_stage();
  // Folded attention reads every head, so its tiles join on one counter: a wait per kv
  // group costs one dependent acquire load each (3 us per layer with 8 groups on an H100).
  const bool fold = fold_attention(b, tiles);
  const GroupCounters qkv_done(b, L + ".qkv", Hkv, by_group && !fold);
  struct Proj {
    int32_t w, bias, qk_norm, rope, out;
    int64_t heads;
    bool is_q;
  };
  const Proj projs[] = {{wq, bq, qn, rope, q, Hq, true},
                        {wk, bk, kn, rope, kc, Hkv, false},
                        {wv, bv, -1, -1, vc, Hkv, false}};
  // The balanced tiling's task counts: the budget shared in proportion to rows, after the
  // whole-head tasks of projections with qk-norm (a head's norm needs all its rows).
  int64_t balanced[3] = {0, 0, 0};
  if (tiles.qkv_tasks > 0) {
    int64_t budget = tiles.qkv_tasks, rows = 0;
    for (const Proj& pr : projs) {
      if (pr.qk_norm >= 0) budget -= pr.heads;
      else rows += pr.heads * hd;
    }
    for (int i = 0; i < 3; ++i)
      if (projs[i].qk_norm < 0) {
        const int64_t units = projs[i].rope >= 0 ? projs[i].heads * (hd / 2) : projs[i].heads * hd;
        balanced[i] = std::clamp<int64_t>(std::max<int64_t>(budget, 0) * projs[i].heads * hd / std::max<int64_t>(rows, 1),
                                          1, units);
      }
  }
  for (int pi = 0; pi < 3; ++pi) {
    const Proj& pr = projs[pi];
    // Rows [r0, r1) of heads [h0, h1); with `pairs` the rotation pairs whose first rows lie
    // there, and their partners (plan/rope_pairs.h).
    auto emit = [&](int64_t h0, int64_t h1, int64_t r0, int64_t r1, bool pairs) {
      TaskParams p;
      p.in = qkv_in;
      p.norm = qkv_norm;
      p.w = pr.w;
      p.bias = pr.bias;
      p.qk_norm = pr.qk_norm;
      p.rope = pr.rope;
      if (pr.rope >= 0 || pr.qk_norm >= 0) p.head_dim = int32_t(hd);
      if (qkv_norm >= 0 || pr.qk_norm >= 0) p.eps = c.rms_norm_eps;
      p.out = pr.out;
      p.out_at_pos = !pr.is_q;
      p.row_begin = r0;
      p.row_end = r1;
      p.rope_pairs = pairs;
      // prefetch_task reads a pairs tile's rows as [r0, r1 + hd/2).
      p.l2_prefetch = tile_hint(b, k.qkv_prefetch_kib, r1 - r0 + (pairs ? hd / 2 : 0), pr.w);
      Task& t = b.add_task(Op::NormMatvec, p);
      b.wait_all(t, qkv_ready);
      // kv groups this tile feeds: q heads [h0, h1) belong to groups h / group.
      if (pr.is_q) qkv_done.signal(b, t, h0 / group, (h1 - 1) / group + 1);
      else qkv_done.signal(b, t, h0, h1);
    };
    if (balanced[pi] > 0) {
      // Equal runs of rotation pairs (RoPE'd) or rows, across head boundaries.
      const bool pairs = pr.rope >= 0;
      const int64_t half = hd / 2, units = pairs ? pr.heads * half : pr.heads * hd;
      const RopePairRows<int64_t> geo{hd, half, 0, units};
      for (int64_t k = 0; k < balanced[pi]; ++k) {
        const int64_t u0 = units * k / balanced[pi], u1 = units * (k + 1) / balanced[pi];
        if (pairs)
          emit(u0 / half, (u1 - 1) / half + 1, geo.pair_row(u0), geo.pair_row(u1 - 1) + 1, true);
        else
          emit(u0 / hd, (u1 - 1) / hd + 1, u0, u1, false);
      }
      continue;
    }
    if (tiles.qkv_parts <= 1 || pr.qk_norm >= 0) {
      for (auto [h0, h1] : split_range(pr.heads, tiles.qkv_heads)) emit(h0, h1, h0 * hd, h1 * hd, false);
      continue;
    }
    // Part of a head per task: rotation pairs [a, b) (and their partners) of a RoPE'd
    // head, rows [a, b) of any other.
    const bool pairs = pr.rope >= 0;
    const int64_t span = pairs ? hd / 2 : hd;
    const int64_t parts = std::min<int64_t>(tiles.qkv_parts, span);
    for (int64_t h = 0; h < pr.heads; ++h)
      for (int64_t k = 0; k < parts; ++k)
        emit(h, h + 1, h * hd + span * k / parts, h * hd + span * (k + 1) / parts, pairs);
  }

  // --- attention, then the o projection + residual; or attention folded into each o-proj
  // tile's prologue (attn_matvec) at short contexts ---
  if (fold) {
    return emit_mlp(b, tiles, l,
                    emit_o_proj(b, tiles, l, in.x, Op::AttnMatvec,
                                [&](TaskParams& p) {
                                  p.in = q;
                                  p.in2 = kc;
                                  p.in3 = vc;
                                  p.head_dim = int32_t(hd);
                                },
                                [&](Task& t) { b.wait_all(t, qkv_done.of(0)); }));
  }

  // attention: one task per (kv head, split), then combine per query head
  const int32_t attn = layer_act(b, l, "attn", {Hq * hd});
  const int64_t splits = k.kv_splits, chunk = (ctx + splits - 1) / splits;
  b.begin_stage();
  int32_t attn_ready;
  if (splits == 1) {
    attn_ready = b.add_counter(L + ".attn");
    for (int64_t g = 0; g < Hkv; ++g) {
      TaskParams p;
      p.in = q;
      p.in2 = kc;
      p.in3 = vc;
      p.out = attn;
      p.row_begin = g;
      p.row_end = g + 1;
      p.head_dim = int32_t(hd);
      p.split = 0;
      p.splits = 1;
      p.chunk = int32_t(chunk);
      Task& t = b.add_task(Op::AttnPartial, p);
      b.wait_all(t, qkv_done.of(g));
      b.signal(t, attn_ready);
    }
  } else {
    const int32_t part = layer_act(b, l, "attn_part", {Hq, splits, hd});
    const int32_t ml = layer_act(b, l, "attn_ml", {Hq, splits, 2});
    const GroupCounters part_done(b, L + ".attn_part", Hkv, by_group);
    for (int64_t g = 0; g < Hkv; ++g) {
      for (int64_t s = 0; s < splits; ++s) {
        TaskParams p;
        p.in = q;
        p.in2 = kc;
        p.in3 = vc;
        p.out = part;
        p.out2 = ml;
        p.row_begin = g;
        p.row_end = g + 1;
        p.head_dim = int32_t(hd);
        p.split = int32_t(s);
        p.splits = int32_t(splits);
        p.chunk = int32_t(chunk);
        Task& t = b.add_task(Op::AttnPartial, p);
        b.wait_all(t, qkv_done.of(g));
        part_done.signal(b, t, g, g + 1);
      }
    }
    b.begin_stage();
    attn_ready = b.add_counter(L + ".attn");
    for (int64_t h = 0; h < Hq; ++h) {
      TaskParams p;
      p.in = part;
      p.in2 = ml;
      p.out = attn;
      p.row_begin = h;
      p.row_end = h + 1;
      p.head_dim = int32_t(hd);
      p.splits = int32_t(splits);
      Task& t = b.add_task(Op::AttnCombine, p);
      b.wait_all(t, part_done.of(h / group));
      b.signal(t, attn_ready);
    }
  }

  return emit_mlp(b, tiles, l,
                  emit_o_proj(b, tiles, l, in.x, Op::NormMatvec, [&](TaskParams& p) { p.in = attn; },
                              [&](Task& t) { b.wait_all(t, attn_ready); }));
}

// The layer's MLP: RMSNorm + gate/up + SiLU-multiply, then down + residual.
LayerIn emit_mlp(Builder& b, const Tiles& tiles, int l, LayerIn xa_in) {
  const int32_t xa = xa_in.x, xa_ready = xa_in.x_ready;
  const ModelConfig& c = b.config;
  const LowerConfig& k = b.knobs;
  const int64_t D = c.hidden_size, I = c.intermediate_size;
  const std::string L = fmt::format("l{}", l);

  // --- gate/up (+ norm prologue) + SiLU-multiply ---
  const int32_t post_norm = layer_w(b, l, "post_attention_layernorm.weight", {D});
  const int32_t wg = layer_w(b, l, "mlp.gate_proj.weight", {I, D});
  const int32_t wu = layer_w(b, l, "mlp.up_proj.weight", {I, D});
  int32_t ffn_in = xa, ffn_norm = post_norm, ffn_in_ready = xa_ready;
  if (!k.fuse_norm) {
    ffn_in = layer_act(b, l, "xan", {D});
    ffn_in_ready = emit_rmsnorm(b, tiles, L + ".norm2", xa, post_norm, ffn_in, xa_ready);
    ffn_norm = -1;
  }
  const int32_t ffn = layer_act(b, l, "ffn", {I});
  b.begin_stage();
  const int32_t ffn_ready = b.add_counter(L + ".ffn");
  for (auto [r0, r1] : split_range(I, tiles.gate_up_rows)) {
    TaskParams p;
    p.in = ffn_in;
    p.norm = ffn_norm;
    p.w = wg;
    p.w2 = wu;
    p.out = ffn;
    p.row_begin = r0;
    p.row_end = r1;
    if (ffn_norm >= 0) p.eps = c.rms_norm_eps;
    p.l2_prefetch = 2 * tile_hint(b, k.gate_up_prefetch_kib, r1 - r0, wg);
    Task& t = b.add_task(Op::NormMatvec, p);
    b.wait_all(t, ffn_in_ready);
    b.signal(t, ffn_ready);
  }

  // --- down projection + residual: x.(l+1) = xa + ffn @ Wd^T ---
  const int32_t wd = layer_w(b, l, "mlp.down_proj.weight", {D, I});
  const int32_t x_next = b.add_buffer(fmt::format("x.{}", l + 1), kAct, kF32, {D});
  b.begin_stage();
  const int32_t x_next_ready = b.add_counter(fmt::format("x.{}", l + 1));
  for (auto [r0, r1] : split_range(D, tiles.down_rows)) {
    TaskParams p;
    p.in = ffn;
    p.w = wd;
    p.residual = xa;
    p.out = x_next;
    p.row_begin = r0;
    p.row_end = r1;
    p.l2_prefetch = tile_hint(b, k.down_prefetch_kib, r1 - r0, wd);
    Task& t = b.add_task(Op::NormMatvec, p);
    b.wait_all(t, ffn_ready);
    b.signal(t, x_next_ready);
  }
  return {x_next, x_next_ready};
}

}  // namespace

void emit_tasks(Builder& b, const Tiles& tiles) {
  const ModelConfig& c = b.config;
  const int64_t D = c.hidden_size, V = c.vocab_size;
  Plan& plan = b.plan;

  const int32_t token = b.add_buffer("token", BufferKind::Input, BufDType::I32, {1});
  const int32_t rope = b.add_buffer("rope_inv_freq", BufferKind::Constant, kF32, {c.head_dim / 2}, "rope_inv_freq");
  const int32_t embed = b.weight("model.embed_tokens.weight", {V, D});
  LayerIn cur{b.add_buffer("x.0", kAct, kF32, {D}), -1};

  b.begin_stage();
  cur.x_ready = b.add_counter("x.0");
  for (auto [c0, c1] : split_range(D, tiles.embed_cols)) {
    TaskParams p;
    p.in = token;
    p.w = embed;
    p.out = cur.x;
    p.row_begin = c0;
    p.row_end = c1;
    Task& t = b.add_task(Op::Embed, p);
    b.signal(t, cur.x_ready);
  }

  for (int l = 0; l < c.num_layers; ++l) cur = emit_layer(b, tiles, l, cur, rope);

  // --- final norm + LM head + argmax partials, then the reduction ---
  const int32_t final_norm = b.weight("model.norm.weight", {D});
  const int32_t lm = c.tie_word_embeddings ? embed : b.weight("lm_head.weight", {V, D});
  const auto lm_tiles = split_range(V, tiles.lm_rows);
  const int64_t P = int64_t(lm_tiles.size());
  const int32_t logits = b.add_buffer("logits", BufferKind::Output, kF32, {V});
  const int32_t partials = b.add_buffer("lm_partials", kAct, kF32, {P, 2});
  const int32_t next = b.add_buffer("next_token", BufferKind::Output, BufDType::I32, {1});
  b.begin_stage();
  const int32_t lm_done = b.add_counter("lm");
  for (int64_t i = 0; i < P; ++i) {
    TaskParams p;
    p.in = cur.x;
    p.norm = final_norm;
    p.w = lm;
    p.out = logits;
    p.out2 = partials;
    p.index = int32_t(i);
    p.row_begin = lm_tiles[size_t(i)].first;
    p.row_end = lm_tiles[size_t(i)].second;
    p.eps = c.rms_norm_eps;
    Task& t = b.add_task(Op::LmHeadArgmax, p);
    b.wait_all(t, cur.x_ready);
    b.signal(t, lm_done);
  }
  b.begin_stage();
  {
    TaskParams p;
    p.in = partials;
    p.count = int32_t(P);
    p.out = next;
    Task& t = b.add_task(Op::ArgmaxReduce, p);
    b.wait_all(t, lm_done);
  }
  plan.outputs = {logits, next};
  plan.token_input = token;
  plan.token_output = next;
}

}  // namespace tessera::lowering

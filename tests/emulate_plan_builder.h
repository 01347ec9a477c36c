// Hand-built plans for the emulator tests, written without lower() (which another branch
// implements) so the emulator is tested against plans whose every task and counter the
// test author chose. A PlanBuilder gives every produced buffer one counter that each of
// its producer tasks signals by 1; a consumer waits on it for all producers. Tasks go to
// blocks round-robin in creation order (topological), so plans are deadlock-free.
// build_decode_plan() writes a whole decode step of a Llama model this way.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/rope.h"
#include "model/model.h"
#include "plan/footprint.h"
#include "plan/plan.h"

namespace tessera::test {

class PlanBuilder {
 public:
  PlanBuilder(int context, int blocks) : blocks_(blocks) {
    plan_.context = context;
    plan_.model = "hand-built";
    plan_.queues.resize(size_t(blocks));
  }

  int32_t buffer(const std::string& name, BufferKind kind, BufDType dtype, std::vector<int64_t> shape,
                 const std::string& weight = "") {
    Buffer b;
    b.id = int32_t(plan_.buffers.size());
    b.name = name;
    b.kind = kind;
    b.dtype = dtype;
    b.shape = std::move(shape);
    b.weight = weight;
    plan_.buffers.push_back(b);
    ids_[name] = b.id;
    return b.id;
  }
  int32_t id(const std::string& name) const { return ids_.at(name); }

  // Adds a task that waits for every producer (so far) of each buffer in `after` and
  // signals the counter of the buffers it writes. block -1: round-robin.
  int32_t task(Op op, TaskParams p, const std::vector<int32_t>& after, int block = -1) {
    Task t;
    t.id = int32_t(plan_.tasks.size());
    t.op = op;
    t.p = p;
    t.sm = block >= 0 ? block : next_block_++ % blocks_;
    for (int32_t b : after) {
      auto it = produced_.find(b);
      if (it == produced_.end()) continue;  // initialised at step entry
      t.waits.push_back({it->second.first, it->second.second});
    }
    int32_t c = counter_for(p.out);
    if (p.out2 >= 0) counter_of_[p.out2] = c;
    t.signals.push_back({c, 1});
    produced_[p.out] = {c, produced_[p.out].second + 1};
    if (p.out2 >= 0) produced_[p.out2] = produced_[p.out];
    plan_.tasks.push_back(t);
    plan_.queues[size_t(t.sm)].push_back(t.id);
    return t.id;
  }

  Plan& plan() { return plan_; }

  // Fills reads/writes from footprint() and returns the plan.
  Plan finish() {
    for (Task& t : plan_.tasks) {
      Footprint f = footprint(plan_, t);
      t.reads = f.reads;
      t.writes = f.writes;
    }
    return plan_;
  }

 private:
  int32_t counter_for(int32_t buf) {
    auto it = counter_of_.find(buf);
    if (it != counter_of_.end()) return it->second;
    Counter c;
    c.id = int32_t(plan_.counters.size());
    c.name = "done:" + plan_.buffers[size_t(buf)].name;
    plan_.counters.push_back(c);
    counter_of_[buf] = c.id;
    return c.id;
  }

  Plan plan_;
  int blocks_;
  int next_block_ = 0;
  std::map<std::string, int32_t> ids_;
  std::map<int32_t, int32_t> counter_of_;                 // buffer -> counter
  std::map<int32_t, std::pair<int32_t, int64_t>> produced_;  // buffer -> (counter, producers)
};

struct DecodePlanOptions {
  int context = 16;
  int blocks = 3;
  int rows_per_task = 8;      // matvec output rows per task (multiple of head_dim for q/k)
  int kv_splits = 1;          // split-KV chunks (attn_combine when > 1)
  bool fuse_norm = true;      // norm prologues, else separate rmsnorm tasks
  int lm_tiles = 3;           // LM head tasks (argmax partial slots)
  int embed_tiles = 2;
  BufDType weight_dtype = BufDType::F32;
  BufDType kv_dtype = BufDType::F32;
};

// One decode step of a Llama-family model (any bias / qk-norm / tied config) as a plan.
inline Plan build_decode_plan(const ModelConfig& c, const DecodePlanOptions& o) {
  PlanBuilder b(o.context, o.blocks);
  const int64_t D = c.hidden_size, F = c.intermediate_size, V = c.vocab_size, hd = c.head_dim;
  const int64_t Hq = c.num_heads, Hkv = c.num_kv_heads, qd = Hq * hd, kvd = Hkv * hd;
  const float eps = c.rms_norm_eps;
  auto W = [&](const std::string& name, std::vector<int64_t> shape) {
    return b.buffer("w:" + name, BufferKind::Weight, o.weight_dtype, std::move(shape), name);
  };
  auto act = [&](const std::string& name, std::vector<int64_t> shape) {
    return b.buffer(name, BufferKind::Activation, BufDType::F32, std::move(shape));
  };
  const int32_t token = b.buffer("token", BufferKind::Input, BufDType::I32, {1});
  const int32_t rope = b.buffer("rope_inv_freq", BufferKind::Constant, BufDType::F32, {hd / 2}, "rope_inv_freq");
  const int32_t logits = b.buffer("logits", BufferKind::Output, BufDType::F32, {V});
  const int32_t next = b.buffer("next_token", BufferKind::Output, BufDType::I32, {1});
  const int64_t lm_step = (V + o.lm_tiles - 1) / o.lm_tiles;
  const int64_t lm_count = (V + lm_step - 1) / lm_step;
  const int32_t parts = act("lm_partials", {lm_count, 2});
  b.plan().token_input = token;
  b.plan().token_output = next;
  b.plan().outputs = {logits, next};

  // Tiles [lo, hi) of n rows, `step` each (the last may be short).
  auto tiles = [](int64_t n, int64_t step) {
    std::vector<std::pair<int64_t, int64_t>> t;
    for (int64_t r = 0; r < n; r += step) t.push_back({r, std::min(n, r + step)});
    return t;
  };
  const int64_t head_rows = std::max<int64_t>(hd, (o.rows_per_task / hd) * hd);

  // x.0 = embed[token]
  int32_t x = act("x.0", {D});
  const int32_t embed = W("model.embed_tokens.weight", {V, D});
  for (auto [lo, hi] : tiles(D, (D + o.embed_tiles - 1) / o.embed_tiles)) {
    TaskParams p;
    p.in = token, p.w = embed, p.out = x, p.row_begin = lo, p.row_end = hi;
    b.task(Op::Embed, p, {token});
  }

  // A matvec over `in` with optional norm; unfused: a separate rmsnorm into `normed`.
  auto matvec = [&](TaskParams base, int32_t in, int32_t norm, int64_t rows, int64_t step,
                    std::vector<int32_t> deps, const std::string& normed_name) {
    if (norm >= 0 && !o.fuse_norm) {
      const int32_t h = act(normed_name, {b.plan().buffers[size_t(in)].shape[0]});
      const int64_t n = b.plan().buffers[size_t(in)].shape[0];
      for (auto [lo, hi] : tiles(n, std::max<int64_t>(1, n / 2))) {
        TaskParams p;
        p.in = in, p.norm = norm, p.out = h, p.row_begin = lo, p.row_end = hi, p.eps = eps;
        b.task(Op::RmsNorm, p, {in});
      }
      in = h;
      norm = -1;
      deps.push_back(h);
    }
    for (auto [lo, hi] : tiles(rows, step)) {
      TaskParams p = base;
      p.in = in, p.norm = norm, p.row_begin = lo, p.row_end = hi, p.eps = eps;
      std::vector<int32_t> d = deps;
      d.push_back(in);
      if (p.residual >= 0) d.push_back(p.residual);
      b.task(Op::NormMatvec, p, d);
    }
  };

  for (int l = 0; l < c.num_layers; ++l) {
    const std::string L = std::to_string(l);
    auto lw = [&](const char* s) { return layer_weight(l, s); };
    const int32_t in_norm = W(lw("input_layernorm.weight"), {D});
    const int32_t wq = W(lw("self_attn.q_proj.weight"), {qd, D});
    const int32_t wk = W(lw("self_attn.k_proj.weight"), {kvd, D});
    const int32_t wv = W(lw("self_attn.v_proj.weight"), {kvd, D});
    int32_t bq = -1, bk = -1, bv = -1, qn = -1, kn = -1;
    if (c.attention_bias) {
      bq = W(lw("self_attn.q_proj.bias"), {qd});
      bk = W(lw("self_attn.k_proj.bias"), {kvd});
      bv = W(lw("self_attn.v_proj.bias"), {kvd});
    }
    if (c.qk_norm) {
      qn = W(lw("self_attn.q_norm.weight"), {hd});
      kn = W(lw("self_attn.k_norm.weight"), {hd});
    }
    const int32_t q = act("q." + L, {qd});
    const int32_t kc = b.buffer("k_cache." + L, BufferKind::State, o.kv_dtype, {o.context, kvd});
    const int32_t vc = b.buffer("v_cache." + L, BufferKind::State, o.kv_dtype, {o.context, kvd});

    TaskParams pq;
    pq.w = wq, pq.bias = bq, pq.qk_norm = qn, pq.rope = rope, pq.head_dim = int32_t(hd), pq.out = q;
    matvec(pq, x, in_norm, qd, head_rows, {}, "h_attn." + L);
    const int32_t h_in = o.fuse_norm ? x : b.id("h_attn." + L);
    const int32_t h_norm = o.fuse_norm ? in_norm : -1;
    TaskParams pk;
    pk.w = wk, pk.bias = bk, pk.qk_norm = kn, pk.rope = rope, pk.head_dim = int32_t(hd), pk.out = kc,
    pk.out_at_pos = true;
    matvec(pk, h_in, h_norm, kvd, head_rows, {}, "");
    TaskParams pv;
    pv.w = wv, pv.bias = bv, pv.out = vc, pv.out_at_pos = true;
    matvec(pv, h_in, h_norm, kvd, o.rows_per_task, {}, "");

    const int32_t attn = act("attn." + L, {qd});
    const int64_t chunk = (o.context + o.kv_splits - 1) / o.kv_splits;
    int32_t po = -1, pm = -1;
    if (o.kv_splits > 1) {
      po = act("attn_part." + L, {Hq, o.kv_splits, hd});
      pm = act("attn_stat." + L, {Hq, o.kv_splits, 2});
    }
    for (int64_t g = 0; g < Hkv; ++g)
      for (int s = 0; s < o.kv_splits; ++s) {
        TaskParams p;
        p.in = q, p.in2 = kc, p.in3 = vc, p.row_begin = g, p.row_end = g + 1, p.head_dim = int32_t(hd);
        p.split = s, p.splits = o.kv_splits, p.chunk = int32_t(chunk);
        p.out = o.kv_splits > 1 ? po : attn;
        p.out2 = pm;
        b.task(Op::AttnPartial, p, {q, kc, vc});
      }
    if (o.kv_splits > 1)
      for (int64_t h = 0; h < Hq; ++h) {
        TaskParams p;
        p.in = po, p.in2 = pm, p.out = attn, p.row_begin = h, p.row_end = h + 1, p.head_dim = int32_t(hd);
        p.splits = o.kv_splits;
        b.task(Op::AttnCombine, p, {po});
      }

    const int32_t wo = W(lw("self_attn.o_proj.weight"), {D, qd});
    const int32_t xm = act("x_mid." + L, {D});
    TaskParams po_;
    po_.w = wo, po_.residual = x, po_.out = xm;
    matvec(po_, attn, -1, D, o.rows_per_task, {}, "");

    const int32_t post = W(lw("post_attention_layernorm.weight"), {D});
    const int32_t wg = W(lw("mlp.gate_proj.weight"), {F, D});
    const int32_t wu = W(lw("mlp.up_proj.weight"), {F, D});
    const int32_t wd = W(lw("mlp.down_proj.weight"), {D, F});
    const int32_t mlp = act("mlp." + L, {F});
    TaskParams pg;
    pg.w = wg, pg.w2 = wu, pg.out = mlp;
    matvec(pg, xm, post, F, o.rows_per_task, {}, "h_mlp." + L);
    const int32_t x2 = act("x." + std::to_string(l + 1), {D});
    TaskParams pd;
    pd.w = wd, pd.residual = xm, pd.out = x2;
    matvec(pd, mlp, -1, D, o.rows_per_task, {}, "");
    x = x2;
  }

  const int32_t fnorm = W("model.norm.weight", {D});
  const int32_t head = c.tie_word_embeddings ? b.id("w:model.embed_tokens.weight") : W("lm_head.weight", {V, D});
  int index = 0;
  for (auto [lo, hi] : tiles(V, lm_step)) {
    TaskParams p;
    p.in = x, p.norm = fnorm, p.w = head, p.out = logits, p.out2 = parts, p.index = index++;
    p.row_begin = lo, p.row_end = hi, p.eps = eps;
    b.task(Op::LmHeadArgmax, p, {x});
  }
  TaskParams pa;
  pa.in = parts, pa.count = int32_t(lm_count), pa.out = next;
  b.task(Op::ArgmaxReduce, pa, {parts});
  return b.finish();
}

}  // namespace tessera::test

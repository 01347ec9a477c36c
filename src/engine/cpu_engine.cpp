// The reference decode step, written out op by op in the order of Hugging Face's
// LlamaDecoderLayer so a reader can check it against the model code line by line.
// Shapes in comments: D hidden, H heads, G kv heads, hd head_dim, F intermediate, V vocab,
// T capacity. Weight pointers are resolved once at construction so the hot path does no
// map lookups, and all scratch space is allocated up front.
#include "engine/cpu_engine.h"

#include <cmath>
#include <limits>
#include <memory>
#include <new>

#include <unistd.h>

#include "core/error.h"
#include "engine/kernels_cpu.h"
#include "engine/rope.h"
#include "engine/thread_pool.h"

namespace tessera {

namespace {

struct LayerWeights {
  const Tensor* input_norm;
  const Tensor *wq, *wk, *wv, *wo;
  const Tensor *bq = nullptr, *bk = nullptr, *bv = nullptr;  // qwen2
  const Tensor *q_norm = nullptr, *k_norm = nullptr;          // qwen3
  const Tensor* post_norm;
  const Tensor *gate, *up, *down;
};

}  // namespace

struct CpuEngine::Impl {
  explicit Impl(int threads) : pool(threads) {}

  ThreadPool pool;
  std::vector<LayerWeights> layers;
  const Tensor* embed = nullptr;
  const Tensor* final_norm = nullptr;
  const Tensor* lm_head = nullptr;
  std::vector<float> inv_freq;  // [hd/2]

  // KV cache, fp32: [layers][T][G*hd] each.
  std::vector<float> key_cache, value_cache;

  // Activations for one token.
  std::vector<float> x, h;            // [D] residual stream, normed input
  std::vector<float> q, k, v;         // [H*hd], [G*hd], [G*hd]
  std::vector<float> attn;            // [H*hd] attention output per head
  std::vector<float> o;               // [D]
  std::vector<float> gate, up;        // [F]
  std::vector<float> scores;          // [H][T]
  std::vector<float> cos, sin;        // [hd/2]
  std::vector<float> logits;          // [V]
};

CpuEngine::CpuEngine(const Model& model, int max_seq_len, int threads) : model_(model) {
  const ModelConfig& c = model.config;
  model.validate();
  if (max_seq_len < 0) fail("{}: --max-seq-len must be non-negative, got {}", model.source,
                            max_seq_len);
  capacity_ = max_seq_len > 0 ? max_seq_len : std::min(c.max_position_embeddings, 4096);

  auto impl = std::make_unique<Impl>(threads);
  impl->inv_freq = rope_inv_freq(c, model.source);
  impl->embed = &model.weight("model.embed_tokens.weight");
  impl->final_norm = &model.weight("model.norm.weight");
  impl->lm_head = &model.lm_head();
  for (int l = 0; l < c.num_layers; ++l) {
    auto w = [&](const char* suffix) { return &model.weight(layer_weight(l, suffix)); };
    LayerWeights lw;
    lw.input_norm = w("input_layernorm.weight");
    lw.wq = w("self_attn.q_proj.weight");
    lw.wk = w("self_attn.k_proj.weight");
    lw.wv = w("self_attn.v_proj.weight");
    lw.wo = w("self_attn.o_proj.weight");
    if (c.attention_bias) {
      lw.bq = w("self_attn.q_proj.bias");
      lw.bk = w("self_attn.k_proj.bias");
      lw.bv = w("self_attn.v_proj.bias");
    }
    if (c.qk_norm) {
      lw.q_norm = w("self_attn.q_norm.weight");
      lw.k_norm = w("self_attn.k_norm.weight");
    }
    lw.post_norm = w("post_attention_layernorm.weight");
    lw.gate = w("mlp.gate_proj.weight");
    lw.up = w("mlp.up_proj.weight");
    lw.down = w("mlp.down_proj.weight");
    impl->layers.push_back(lw);
  }

  const size_t kv_dim = size_t(c.num_kv_heads) * size_t(c.head_dim);
  size_t cache_floats = 0;
  if (__builtin_mul_overflow(size_t(c.num_layers) * size_t(capacity_), kv_dim, &cache_floats) ||
      cache_floats > std::numeric_limits<size_t>::max() / 8)
    fail("{}: a KV cache of {} tokens does not fit in memory", model.source, capacity_);
  // Refuse up front what cannot fit: with memory overcommit a huge allocation may succeed
  // and the process be killed while zero-filling it.
  const double cache_gib = double(cache_floats) * 8 / double(1 << 30);
  const double phys_gib =
      double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGESIZE)) / double(1 << 30);
  if (cache_gib > phys_gib)
    fail("{}: the KV cache for {} tokens needs {:.1f} GiB, more than this machine's {:.1f} GiB "
         "of memory; lower --max-seq-len",
         model.source, capacity_, cache_gib, phys_gib);
  try {
    impl->key_cache.assign(cache_floats, 0.f);
    impl->value_cache.assign(cache_floats, 0.f);
    impl->scores.assign(size_t(c.num_heads) * size_t(capacity_), 0.f);
  } catch (const std::bad_alloc&) {
    fail("{}: cannot allocate the KV cache for {} tokens ({:.1f} GiB); lower --max-seq-len",
         model.source, capacity_, cache_gib);
  }
  const size_t q_dim = size_t(c.num_heads) * size_t(c.head_dim);
  impl->x.resize(c.hidden_size);
  impl->h.resize(c.hidden_size);
  impl->q.resize(q_dim);
  impl->k.resize(kv_dim);
  impl->v.resize(kv_dim);
  impl->attn.resize(q_dim);
  impl->o.resize(c.hidden_size);
  impl->gate.resize(c.intermediate_size);
  impl->up.resize(c.intermediate_size);
  impl->cos.resize(c.head_dim / 2);
  impl->sin.resize(c.head_dim / 2);
  impl->logits.resize(c.vocab_size);
  impl_ = impl.release();
}

CpuEngine::~CpuEngine() { delete impl_; }

void CpuEngine::reset() { pos_ = 0; }

const std::vector<float>& CpuEngine::forward(int token, int pos) {
  const ModelConfig& c = model_.config;
  if (token < 0 || token >= c.vocab_size)
    fail("token id {} is outside the vocabulary of {} tokens", token, c.vocab_size);
  if (pos != pos_)
    fail("position {} is out of order: the engine expects position {} next", pos, pos_);
  if (pos >= capacity_) fail("position {} exceeds the context of {} tokens", pos, capacity_);

  Impl& s = *impl_;
  const int D = c.hidden_size, H = c.num_heads, G = c.num_kv_heads, hd = c.head_dim;
  const int kv_dim = G * hd, group = H / G;
  const float eps = c.rms_norm_eps;
  const float scale = 1.f / std::sqrt(float(hd));

  // x[D] = embed[token]
  row_to_f32(*s.embed, token, s.x.data());
  rope_cos_sin(s.inv_freq, pos, s.cos.data(), s.sin.data());

  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeights& w = s.layers[l];

    // ---- attention ----
    // h[D] = rmsnorm(x) * input_layernorm
    rmsnorm(s.h.data(), s.x.data(), *w.input_norm, D, eps);
    // q[H*hd] = Wq h (+bq); k, v [G*hd] likewise
    matvec(s.pool, s.q.data(), *w.wq, s.h.data(), w.bq);
    matvec(s.pool, s.k.data(), *w.wk, s.h.data(), w.bk);
    matvec(s.pool, s.v.data(), *w.wv, s.h.data(), w.bv);
    for (int hh = 0; hh < H; ++hh) {
      float* qh = s.q.data() + size_t(hh) * hd;
      if (w.q_norm) rmsnorm(qh, qh, *w.q_norm, hd, eps);
      apply_rope(qh, hd, s.cos.data(), s.sin.data());
    }
    for (int g = 0; g < G; ++g) {
      float* kh = s.k.data() + size_t(g) * hd;
      if (w.k_norm) rmsnorm(kh, kh, *w.k_norm, hd, eps);
      apply_rope(kh, hd, s.cos.data(), s.sin.data());
    }

    // Append k, v at pos: cache[l][pos][G*hd]
    const size_t layer_off = size_t(l) * size_t(capacity_) * kv_dim;
    float* kcache = s.key_cache.data() + layer_off;
    float* vcache = s.value_cache.data() + layer_off;
    std::copy(s.k.begin(), s.k.end(), kcache + size_t(pos) * kv_dim);
    std::copy(s.v.begin(), s.v.end(), vcache + size_t(pos) * kv_dim);

    // attn[H*hd]: per query head hh (kv head hh/group), softmax(q.k_t * scale) over
    // t in [0, pos], weighted sum of v_t. Heads are independent: split across threads.
    s.pool.parallel_for(H, [&](int64_t begin, int64_t end) {
      for (int64_t hh = begin; hh < end; ++hh) {
        const float* qh = s.q.data() + hh * hd;
        const size_t g_off = size_t(hh / group) * hd;
        float* sc = s.scores.data() + size_t(hh) * capacity_;
        for (int t = 0; t <= pos; ++t) {
          const float* kt = kcache + size_t(t) * kv_dim + g_off;
          float dotp = 0.f;
          for (int i = 0; i < hd; ++i) dotp += qh[i] * kt[i];
          sc[t] = dotp * scale;
        }
        softmax(sc, pos + 1);
        float* out = s.attn.data() + hh * hd;
        std::fill(out, out + hd, 0.f);
        for (int t = 0; t <= pos; ++t) {
          const float* vt = vcache + size_t(t) * kv_dim + g_off;
          const float p = sc[t];
          for (int i = 0; i < hd; ++i) out[i] += p * vt[i];
        }
      }
    }, int64_t(2) * (pos + 1) * hd);

    // o[D] = Wo attn; x += o
    matvec(s.pool, s.o.data(), *w.wo, s.attn.data());
    for (int i = 0; i < D; ++i) s.x[i] += s.o[i];

    // ---- MLP ----
    // h[D] = rmsnorm(x) * post_attention_layernorm
    rmsnorm(s.h.data(), s.x.data(), *w.post_norm, D, eps);
    // gate, up [F]; gate = silu(gate) * up; o[D] = Wdown gate; x += o
    matvec(s.pool, s.gate.data(), *w.gate, s.h.data());
    matvec(s.pool, s.up.data(), *w.up, s.h.data());
    for (int i = 0; i < c.intermediate_size; ++i) s.gate[i] = silu(s.gate[i]) * s.up[i];
    matvec(s.pool, s.o.data(), *w.down, s.gate.data());
    for (int i = 0; i < D; ++i) s.x[i] += s.o[i];
  }

  // logits[V] = lm_head (rmsnorm(x) * norm)
  rmsnorm(s.h.data(), s.x.data(), *s.final_norm, D, eps);
  matvec(s.pool, s.logits.data(), *s.lm_head, s.h.data());
  ++pos_;
  return s.logits;
}

}  // namespace tessera

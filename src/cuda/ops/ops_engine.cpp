// OpsEngine (ops_engine.h). Host code: uploads, the cuBLAS handle, the step as a flat list
// of launches (record()), and the graph built from that same list, so `ops` and
// `ops-graph` cannot drift apart: they run one function, eagerly or captured.
//
// The matrix products are cublasGemmEx calls with N = 1: W is bf16 [rows, K] row-major,
// which cuBLAS's column-major view sees as a K x rows matrix, hence op(A) = A^T with
// lda = K; the input vector is bf16 (the rounding a bf16 GEMM needs; the megakernel keeps
// it fp32), the output fp32, accumulation fp32 (CUBLAS_COMPUTE_32F). cuBLAS at N = 1 is
// what PyTorch's bf16 decode runs for its linear layers too. The residual adds of the o
// and down products are cuBLAS's own beta = 1 (C = x), as a user of cuBLAS would write.
//
// cuBLAS is given a preallocated workspace (cublasSetWorkspace) so that stream capture
// never meets an allocation; cublasSetStream resets the workspace, so the two are always
// set together (bind()).
#include "cuda/ops/ops_engine.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <fmt/format.h>

#include <algorithm>

#include "core/bf16_convert.h"
#include "core/error.h"
#include "cuda/failed_step_latch.h"
#include "cuda/ops/ops_kernels.h"
#include "cuda/runtime.h"
#include "engine/rope.h"

namespace tessera {

using namespace tessera::ops;

namespace {

void check(cudaError_t e, const char* what, int layer = -1) {
  if (e == cudaSuccess) return;
  if (layer >= 0) fail("CUDA: {} (layer {}) failed: {} ({})", what, layer, cudaGetErrorString(e), cudaGetErrorName(e));
  fail("CUDA: {} failed: {} ({})", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

void check_blas(cublasStatus_t st, const char* what, int layer = -1) {
  if (st == CUBLAS_STATUS_SUCCESS) return;
  if (layer >= 0) fail("cuBLAS: {} (layer {}) failed: {} ({})", what, layer, cublasGetStatusString(st), cublasGetStatusName(st));
  fail("cuBLAS: {} failed: {} ({})", what, cublasGetStatusString(st), cublasGetStatusName(st));
}

// Recommended cuBLAS workspace on Hopper (4 MiB suffices elsewhere); fixed so every
// product sees the same workspace, eager or captured, and picks the same algorithm.
constexpr size_t kWorkspaceBytes = size_t(32) << 20;

struct DeviceAlloc {
  void* p = nullptr;
  explicit DeviceAlloc(size_t bytes, const char* what) {
    check(cudaMalloc(&p, std::max<size_t>(bytes, 16)), what);
    check(cudaMemset(p, 0, std::max<size_t>(bytes, 16)), what);
  }
  DeviceAlloc(DeviceAlloc&& o) noexcept : p(o.p) { o.p = nullptr; }
  DeviceAlloc(const DeviceAlloc&) = delete;
  ~DeviceAlloc() { if (p) cudaFree(p); }
};

struct LayerPtrs {
  const uint16_t *input_norm, *wq, *wk, *wv, *wo, *post_norm, *gate, *up, *down;
  const uint16_t *bq = nullptr, *bk = nullptr, *bv = nullptr;  // qwen2
  const uint16_t *q_norm = nullptr, *k_norm = nullptr;          // qwen3
  uint16_t *k_cache, *v_cache;                                   // [context, G*hd]
};

}  // namespace

struct OpsEngine::Impl {
  ModelConfig c;
  int context = 0;
  bool graph = false;
  std::vector<DeviceAlloc> mem;
  const uint16_t *embed = nullptr, *final_norm = nullptr, *lm_head = nullptr;
  std::vector<LayerPtrs> layers;
  // Activations: fp32 unless *_bf16 (the bf16 inputs of the products).
  float *x, *q, *k, *v, *gate, *up, *logits, *inv_freq, *part_o, *part_ml, *argmax_v;
  uint16_t *h_bf16, *attn_bf16, *act_bf16;
  int32_t *token, *pos, *next, *argmax_i;
  void* workspace = nullptr;
  int32_t* pos_table = nullptr;   // pinned: pos_table[p] = p, never rewritten
  int32_t* token_slot = nullptr;  // pinned: forward()'s token
  cublasHandle_t blas = nullptr;
  cudaStream_t stream = nullptr;  // own stream: capture, forward(), enqueue(nullptr)
  cudaStream_t bound = nullptr;
  bool have_bound = false;
  cudaGraph_t cuda_graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  FailedStepLatch latch;

  ~Impl() {
    if (exec) cudaGraphExecDestroy(exec);
    if (cuda_graph) cudaGraphDestroy(cuda_graph);
    if (blas) cublasDestroy(blas);
    if (stream) cudaStreamDestroy(stream);
    if (pos_table) cudaFreeHost(pos_table);
    if (token_slot) cudaFreeHost(token_slot);
  }

  template <class T>
  T* alloc(size_t n, const char* what) {
    mem.emplace_back(n * sizeof(T), what);
    return static_cast<T*>(mem.back().p);
  }

  const uint16_t* upload(const Tensor& t) {
    std::vector<uint16_t> host(size_t(t.numel()));
    tensor_to_bf16(t, host.data());
    uint16_t* d = alloc<uint16_t>(host.size(), "cudaMalloc (weight)");
    check(cudaMemcpy(d, host.data(), host.size() * 2, cudaMemcpyHostToDevice), "cudaMemcpy (weight)");
    return d;
  }

  void bind(cudaStream_t s) {
    if (have_bound && bound == s) return;
    check_blas(cublasSetStream(blas, s), "cublasSetStream");
    check_blas(cublasSetWorkspace(blas, workspace, kWorkspaceBytes), "cublasSetWorkspace");
    bound = s;
    have_bound = true;
  }

  // y[rows] = W[rows, K] x (+ y when beta = 1).
  void gemv(const uint16_t* w, int rows, int K, const uint16_t* x_bf16, float* y, float beta,
            const char* what, int layer) {
    const float alpha = 1.f;
    check_blas(cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, rows, 1, K, &alpha, w, CUDA_R_16BF, K, x_bf16,
                            CUDA_R_16BF, K, &beta, y, CUDA_R_32F, rows, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
               what, layer);
  }

  // The decode step, in cpu_engine.cpp's order.
  void record(cudaStream_t s) {
    bind(s);
    const int D = c.hidden_size, H = c.num_heads, G = c.num_kv_heads, hd = c.head_dim;
    const int F = c.intermediate_size, V = c.vocab_size, qd = H * hd, kvd = G * hd;
    const float eps = c.rms_norm_eps;
    check(launch_embed(embed, token, V, D, x, s), "embed kernel launch");
    for (int l = 0; l < c.num_layers; ++l) {
      const LayerPtrs& w = layers[size_t(l)];
      check(launch_rmsnorm_bf16(x, w.input_norm, D, eps, h_bf16, s), "rmsnorm kernel launch", l);
      gemv(w.wq, qd, D, h_bf16, q, 0.f, "cublasGemmEx (q_proj)", l);
      gemv(w.wk, kvd, D, h_bf16, k, 0.f, "cublasGemmEx (k_proj)", l);
      gemv(w.wv, kvd, D, h_bf16, v, 0.f, "cublasGemmEx (v_proj)", l);
      QkvArgs qa{q, k, v, w.bq, w.bk, w.bv, w.q_norm, w.k_norm, inv_freq, w.k_cache, w.v_cache, pos, H, G, hd, eps};
      check(launch_qkv_rope(qa, s), "qkv_rope kernel launch", l);
      AttnArgs aa{q, w.k_cache, w.v_cache, pos, part_o, part_ml, attn_bf16, H, G, hd, context};
      check(launch_attention(aa, s), "attention kernel launch", l);
      gemv(w.wo, D, qd, attn_bf16, x, 1.f, "cublasGemmEx (o_proj + residual)", l);
      check(launch_rmsnorm_bf16(x, w.post_norm, D, eps, h_bf16, s), "rmsnorm kernel launch", l);
      gemv(w.gate, F, D, h_bf16, gate, 0.f, "cublasGemmEx (gate_proj)", l);
      gemv(w.up, F, D, h_bf16, up, 0.f, "cublasGemmEx (up_proj)", l);
      check(launch_silu_mul_bf16(gate, up, F, act_bf16, s), "silu_mul kernel launch", l);
      gemv(w.down, D, F, act_bf16, x, 1.f, "cublasGemmEx (down_proj + residual)", l);
    }
    check(launch_rmsnorm_bf16(x, final_norm, D, eps, h_bf16, s), "final rmsnorm kernel launch");
    gemv(lm_head, V, D, h_bf16, logits, 0.f, "cublasGemmEx (lm_head)", -1);
    check(launch_argmax(logits, V, argmax_v, argmax_i, next, s), "argmax kernel launch");
  }

  // Captured on the engine's own stream (capture needs a non-default one), after one eager
  // run of the same sequence: that run does whatever cuBLAS and lazy module loading do on
  // first use (initialisation, allocations) outside the capture, where such calls are
  // illegal. Its effects are harmless: it writes KV row 0 at token 0, which the first real
  // step at position 0 overwrites before reading. A failure while capturing ends the
  // capture before the error propagates, so the stream is usable.
  void capture() {
    bind(stream);
    record(stream);
    check(cudaStreamSynchronize(stream), "warm-up step before capture");
    check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    try {
      record(stream);
    } catch (const Error&) {
      cudaGraph_t g = nullptr;
      cudaStreamEndCapture(stream, &g);
      if (g) cudaGraphDestroy(g);
      cudaGetLastError();
      throw;
    }
    check(cudaStreamEndCapture(stream, &cuda_graph), "cudaStreamEndCapture");
    check(cudaGraphInstantiate(&exec, cuda_graph, 0), "cudaGraphInstantiate");
  }

  void check_usable() const {
    latch.check("ops backend");
  }
};

OpsEngine::OpsEngine(const Model& model, int context, bool graph) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  const ModelConfig& c = model.config;
  model.validate();
  s.c = c;
  s.graph = graph;
  if (context < 0) fail("ops backend: context {} must be non-negative (0: the model's, at most 4096)", context);
  s.context = context > 0 ? context : std::min(c.max_position_embeddings, 4096);
  const int hd = c.head_dim;
  if (hd % 8 != 0 || hd > 256 || 32 % (hd / 8) != 0)
    fail("ops backend: head_dim {} of '{}' is not supported (the attention kernel handles 8, 16, 32, 64, 128 "
         "or 256)", hd, model.source);

  std::string why;
  if (!cuda_device_available(&why)) fail("ops backend: {}", why);
  check(cudaSetDevice(0), "cudaSetDevice");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  const size_t attn_smem = attention_smem_bytes(c.num_heads, c.num_kv_heads, hd);
  if (attn_smem > prop.sharedMemPerBlockOptin)
    fail("ops backend: attention needs {} bytes of shared memory per block ({} query heads per kv head); "
         "device '{}' allows {}", attn_smem, c.num_heads / c.num_kv_heads, prop.name, prop.sharedMemPerBlockOptin);
  check(attention_set_smem(attn_smem), "cudaFuncSetAttribute (attention shared memory)");

  // Weights, bf16.
  s.embed = s.upload(model.weight("model.embed_tokens.weight"));
  s.final_norm = s.upload(model.weight("model.norm.weight"));
  s.lm_head = c.tie_word_embeddings && !model.has("lm_head.weight") ? s.embed : s.upload(model.lm_head());
  const size_t kvd = size_t(c.num_kv_heads) * size_t(hd);
  for (int l = 0; l < c.num_layers; ++l) {
    auto w = [&](const char* suffix) { return s.upload(model.weight(layer_weight(l, suffix))); };
    LayerPtrs p{};
    p.input_norm = w("input_layernorm.weight");
    p.wq = w("self_attn.q_proj.weight");
    p.wk = w("self_attn.k_proj.weight");
    p.wv = w("self_attn.v_proj.weight");
    if (c.attention_bias) {
      p.bq = w("self_attn.q_proj.bias");
      p.bk = w("self_attn.k_proj.bias");
      p.bv = w("self_attn.v_proj.bias");
    }
    if (c.qk_norm) {
      p.q_norm = w("self_attn.q_norm.weight");
      p.k_norm = w("self_attn.k_norm.weight");
    }
    p.wo = w("self_attn.o_proj.weight");
    p.post_norm = w("post_attention_layernorm.weight");
    p.gate = w("mlp.gate_proj.weight");
    p.up = w("mlp.up_proj.weight");
    p.down = w("mlp.down_proj.weight");
    p.k_cache = s.alloc<uint16_t>(size_t(s.context) * kvd, "cudaMalloc (key cache)");
    p.v_cache = s.alloc<uint16_t>(size_t(s.context) * kvd, "cudaMalloc (value cache)");
    s.layers.push_back(p);
  }

  // Activations and scratch.
  const size_t qd = size_t(c.num_heads) * size_t(hd), chunks = size_t(attn_chunks(s.context));
  s.x = s.alloc<float>(size_t(c.hidden_size), "cudaMalloc (activations)");
  s.q = s.alloc<float>(qd, "cudaMalloc (activations)");
  s.k = s.alloc<float>(kvd, "cudaMalloc (activations)");
  s.v = s.alloc<float>(kvd, "cudaMalloc (activations)");
  s.gate = s.alloc<float>(size_t(c.intermediate_size), "cudaMalloc (activations)");
  s.up = s.alloc<float>(size_t(c.intermediate_size), "cudaMalloc (activations)");
  s.logits = s.alloc<float>(size_t(c.vocab_size), "cudaMalloc (logits)");
  s.part_o = s.alloc<float>(size_t(c.num_heads) * chunks * size_t(hd), "cudaMalloc (attention partials)");
  s.part_ml = s.alloc<float>(size_t(c.num_heads) * chunks * 2, "cudaMalloc (attention partials)");
  s.argmax_v = s.alloc<float>(kArgmaxBlocks, "cudaMalloc (argmax partials)");
  s.argmax_i = s.alloc<int32_t>(kArgmaxBlocks, "cudaMalloc (argmax partials)");
  s.h_bf16 = s.alloc<uint16_t>(size_t(c.hidden_size), "cudaMalloc (activations)");
  s.attn_bf16 = s.alloc<uint16_t>(qd, "cudaMalloc (activations)");
  s.act_bf16 = s.alloc<uint16_t>(size_t(c.intermediate_size), "cudaMalloc (activations)");
  s.token = s.alloc<int32_t>(1, "cudaMalloc (token)");
  s.pos = s.alloc<int32_t>(1, "cudaMalloc (position)");
  s.next = s.alloc<int32_t>(1, "cudaMalloc (next token)");
  const std::vector<float> inv = rope_inv_freq(c, model.source);
  s.inv_freq = s.alloc<float>(inv.size(), "cudaMalloc (rope inverse frequencies)");
  check(cudaMemcpy(s.inv_freq, inv.data(), inv.size() * 4, cudaMemcpyHostToDevice), "cudaMemcpy (rope inverse frequencies)");
  s.workspace = s.alloc<uint8_t>(kWorkspaceBytes, "cudaMalloc (cuBLAS workspace)");

  check(cudaMallocHost(&s.pos_table, size_t(s.context) * sizeof(int32_t)), "cudaMallocHost (positions)");
  for (int p = 0; p < s.context; ++p) s.pos_table[p] = p;
  check(cudaMallocHost(&s.token_slot, sizeof(int32_t)), "cudaMallocHost (token)");
  check(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking), "cudaStreamCreate");
  check_blas(cublasCreate(&s.blas), "cublasCreate");
  if (graph) s.capture();
  logits_.resize(size_t(c.vocab_size));
}

OpsEngine::~OpsEngine() = default;

std::string OpsEngine::name() const { return impl_->graph ? "ops-graph" : "ops"; }
int64_t OpsEngine::context() const { return impl_->context; }
int OpsEngine::capacity() const { return impl_->context; }

// The position copy stays outside the graph: a memcpy node would bake in the host address
// of one position, so keeping the 4-byte copy in front of the launch is what lets one
// graph serve every position (as a PyTorch CUDA-graph decode copies its inputs into static
// buffers before each replay). Its source is pos_table[pos], which never changes, so any
// number of steps may be in flight.
void OpsEngine::enqueue(int64_t pos, void* stream) {
  Impl& s = *impl_;
  s.check_usable();
  if (pos < 0 || pos >= s.context) fail("position {} is outside the ops backend's context [0, {})", pos, s.context);
  cudaStream_t st = stream ? static_cast<cudaStream_t>(stream) : s.stream;
  s.latch.run([&] {
    check(cudaMemcpyAsync(s.pos, s.pos_table + pos, sizeof(int32_t), cudaMemcpyHostToDevice, st),
          "cudaMemcpyAsync (position)");
    if (s.graph) check(cudaGraphLaunch(s.exec, st), "cudaGraphLaunch (ops-graph step)");
    else s.record(st);
  });
}

void OpsEngine::check_after_sync() {
  Impl& s = *impl_;
  s.check_usable();
  s.latch.run([&] { check(cudaGetLastError(), "ops step execution"); });
}

const std::vector<float>& OpsEngine::forward(int token, int pos) {
  Impl& s = *impl_;
  const ModelConfig& c = s.c;
  s.check_usable();  // before the position check: a failed step leaves pos_ behind
  if (token < 0 || token >= c.vocab_size)
    fail("token id {} is outside the vocabulary of {} tokens", token, c.vocab_size);
  if (pos != pos_) fail("position {} is out of order: the engine expects position {} next", pos, pos_);
  if (pos >= s.context) fail("position {} exceeds the context of {} tokens", pos, s.context);
  // The previous forward() synchronised, so the pinned token slot is free to rewrite.
  *s.token_slot = token;
  s.latch.run([&] {
    check(cudaMemcpyAsync(s.token, s.token_slot, sizeof(int32_t), cudaMemcpyHostToDevice, s.stream),
          "cudaMemcpyAsync (token)");
  });
  enqueue(pos, s.stream);
  s.latch.run([&] { check(cudaStreamSynchronize(s.stream), "ops step execution"); });
  read_logits();
  ++pos_;
  return logits_;
}

const std::vector<float>& OpsEngine::read_logits() {
  Impl& s = *impl_;
  s.check_usable();
  s.latch.run([&] {
    check(cudaMemcpy(logits_.data(), s.logits, logits_.size() * 4, cudaMemcpyDeviceToHost), "cudaMemcpy (logits)");
    int32_t next = -1;
    check(cudaMemcpy(&next, s.next, 4, cudaMemcpyDeviceToHost), "cudaMemcpy (next token)");
    next_token_ = next;
  });
  return logits_;
}

std::unique_ptr<TimedStep> make_ops_step(const Model& model, int context, bool graph) {
  return std::make_unique<OpsEngine>(model, context, graph);
}

}  // namespace tessera

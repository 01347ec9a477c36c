// The `ops` and `ops-graph` baselines (issue 6): the decode step as a careful C++ user
// would write it without a megakernel: one kernel per operation, cuBLAS for the matrix
// products, launched eagerly (`ops`) or captured once in a CUDA graph and replayed
// (`ops-graph`). Same numerics class as the megakernel: weights bf16 (converted exactly
// as CudaEngine converts them), bf16 KV cache, fp32 activations and accumulation; the one
// difference is that a bf16 GEMM needs a bf16 input vector, so every product's activation
// is rounded to bf16 (the megakernel keeps it fp32), which is also what PyTorch's bf16
// decode does.
//
// pos and token live in device memory (written by cudaMemcpyAsync on the step's stream),
// so the captured graph serves every position and the kernels' grids never depend on pos.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cuda/timed_step.h"
#include "engine/backend.h"
#include "model/model.h"

namespace tessera {

class OpsEngine : public DecodeBackend, public TimedStep {
 public:
  // context: KV positions to allocate (0: the model's context, at most 4096). graph: capture
  // the step once and replay it. Uploads every weight the step reads; throws
  // tessera::Error naming what is missing or unsupported (head_dim must be 8..256, a power
  // of two times 8) or which CUDA/cuBLAS call failed.
  OpsEngine(const Model& model, int context, bool graph);
  ~OpsEngine() override;
  OpsEngine(const OpsEngine&) = delete;
  OpsEngine& operator=(const OpsEngine&) = delete;

  // DecodeBackend: as CpuEngine::forward (token in range, pos == tokens run since
  // reset(), pos < capacity()); runs one step and synchronises. Logits valid until the
  // next call.
  const std::vector<float>& forward(int token, int pos) override;
  void reset() override { pos_ = 0; }
  int capacity() const override;
  int next_token() const { return next_token_; }  // the GPU's argmax of the last logits
  // The logits and argmax the last step left on the device (after the caller synchronised
  // the stream of an enqueue()): what the bench checks its timed steps by.
  const std::vector<float>& read_logits();
  int position() const { return pos_; }

  // TimedStep: enqueue copies pos into device memory on `stream` and launches the step
  // (the graph, or every kernel) there, without synchronising.
  std::string name() const override;
  void enqueue(int64_t pos, void* stream) override;
  void check_after_sync() override;
  int64_t context() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<float> logits_;
  int next_token_ = -1;
  int pos_ = 0;
};

}  // namespace tessera

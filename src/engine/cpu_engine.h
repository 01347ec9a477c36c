// The CPU reference engine: the plain, fp32 specification of a decode step that every
// faster backend is checked against. Weights stay in their stored dtype (f32/f16/bf16)
// and are upcast to fp32 element by element inside the matrix-vector products; all
// arithmetic and the KV cache are fp32.
//
// One token at a time (prompt tokens too): forward(token, pos) appends that token's keys
// and values at `pos` and returns the logits for the next token.
#pragma once

#include <vector>

#include "engine/backend.h"
#include "model/model.h"

namespace tessera {

class CpuEngine : public DecodeBackend {
 public:
  // max_seq_len: KV cache capacity; 0 means the model's max_position_embeddings capped at
  // 4096 (so an 8B model's cache does not take gigabytes by default). threads: 0 = all cores.
  explicit CpuEngine(const Model& model, int max_seq_len = 0, int threads = 0);
  ~CpuEngine() override;
  CpuEngine(const CpuEngine&) = delete;
  CpuEngine& operator=(const CpuEngine&) = delete;

  // Runs the token at position pos. pos must equal the number of tokens already run
  // since reset() (throws tessera::Error otherwise, and when pos >= capacity).
  // Returns the logits [vocab_size] (valid until the next call).
  const std::vector<float>& forward(int token, int pos) override;
  void reset() override;
  int capacity() const override { return capacity_; }
  int position() const { return pos_; }
  const ModelConfig& config() const { return model_.config; }

 private:
  struct Impl;
  const Model& model_;
  int capacity_ = 0;
  int pos_ = 0;
  Impl* impl_ = nullptr;
};

}  // namespace tessera

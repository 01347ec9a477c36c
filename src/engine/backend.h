// What generation needs from an execution backend: run one token at a position, get the
// logits. The CPU reference engine, the plan emulator and the CUDA megakernel all
// implement it, so `tessera generate --backend cpu|emu|cuda` shares one generation loop and
// their outputs are compared through the same code.
#pragma once

#include <vector>

namespace tessera {

class DecodeBackend {
 public:
  virtual ~DecodeBackend() = default;
  // Runs `token` at position `pos` (== tokens run since reset()); returns logits [vocab],
  // valid until the next call. Throws tessera::Error on out-of-range tokens or positions.
  virtual const std::vector<float>& forward(int token, int pos) = 0;
  // Forgets the sequence (the KV cache contents become irrelevant; position returns to 0).
  virtual void reset() = 0;
  virtual int capacity() const = 0;  // positions the KV cache holds
};

}  // namespace tessera

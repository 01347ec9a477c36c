// Text generation on the reference engine: runs the prompt ids, then samples until an
// EOS token or the token budget. The prompt must fit the engine's context with room for
// at least one new token; otherwise tessera::Error says by how much it does not.
#pragma once

#include <functional>
#include <vector>

#include "engine/cpu_engine.h"
#include "engine/sampler.h"

namespace tessera {

struct GenerateResult {
  std::vector<int> tokens;  // generated ids (EOS included when it stopped on one)
  bool stopped_on_eos = false;
  double prompt_seconds = 0, generate_seconds = 0;
};

// on_token(id) is called for each generated id as soon as it is chosen.
GenerateResult generate(DecodeBackend& engine, const std::vector<int>& prompt, int max_new_tokens,
                        Sampler& sampler, const std::vector<int>& eos_ids,
                        const std::function<void(int)>& on_token = {});

}  // namespace tessera

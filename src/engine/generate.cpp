// The generation loop. The engine is a decode engine, so the prompt runs one token at a
// time and only the last prompt token's logits matter. The last generated token is never
// run through the engine (nothing would read its logits), which is why a context of T
// holds a prompt of P tokens plus T - P new ones.
#include "engine/generate.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace tessera {

GenerateResult generate(DecodeBackend& engine, const std::vector<int>& prompt, int max_new_tokens,
                        Sampler& sampler, const std::vector<int>& eos_ids,
                        const std::function<void(int)>& on_token) {
  using clock = std::chrono::steady_clock;
  if (prompt.empty()) fail("the prompt is empty (at least one token is needed)");
  if (max_new_tokens < 0) fail("--max-tokens must be >= 0, got {}", max_new_tokens);
  const int capacity = engine.capacity();
  if (prompt.size() + 1 > size_t(capacity))
    fail("prompt of {} tokens does not fit the context of {} tokens (room is needed for at "
         "least one new token)",
         prompt.size(), capacity);
  const int budget = std::min(max_new_tokens, capacity - int(prompt.size()));

  GenerateResult result;
  engine.reset();
  auto t0 = clock::now();
  const std::vector<float>* logits = nullptr;
  for (size_t i = 0; i < prompt.size(); ++i) logits = &engine.forward(prompt[i], int(i));
  auto t1 = clock::now();
  result.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();

  int pos = int(prompt.size());
  for (int n = 0; n < budget; ++n) {
    const int id = sampler.sample(*logits);
    result.tokens.push_back(id);
    if (on_token) on_token(id);
    if (std::find(eos_ids.begin(), eos_ids.end(), id) != eos_ids.end()) {
      result.stopped_on_eos = true;
      break;
    }
    if (n + 1 < budget) logits = &engine.forward(id, pos++);
  }
  result.generate_seconds = std::chrono::duration<double>(clock::now() - t1).count();
  return result;
}

}  // namespace tessera

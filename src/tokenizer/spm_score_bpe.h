// Score-driven merging as SentencePiece BPE, llama.cpp's SPM tokenizer and llama2.c's
// encode() do it: repeatedly merge the adjacent pair whose concatenation is a vocabulary
// entry with the highest score (leftmost on ties). No merge list is needed, only scores.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/bpe_merge.h"

namespace tessera {

// buf is the concatenation of the initial symbols, whose byte lengths are `lens`. Returns
// the lengths of the final symbols (each a concatenation of neighbouring initial ones).
// A pair may merge only if its text is in `vocab`; its priority is scores[id].
std::vector<size_t> spm_score_merge(std::string_view buf, const std::vector<size_t>& lens,
                                    const TokenMap& vocab, const std::vector<float>& scores);

}  // namespace tessera

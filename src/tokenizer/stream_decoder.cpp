// StreamDecoder re-decodes the whole id sequence on each push and returns the new tail.
// Decoders are not always prefix-local (SentencePiece strips a leading space, byte tokens
// combine into characters), and decoding a few thousand ids is cheap next to a model
// forward pass, so exactness wins over incremental cleverness.
#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace tessera {

StreamDecoder::StreamDecoder(const Tokenizer& tok, std::vector<int> context)
    : tok_(tok), ids_(std::move(context)), emitted_(tok.decode(ids_).size()) {}

std::string StreamDecoder::push(int id) {
  ids_.push_back(id);
  std::string all = tok_.decode(ids_);
  if (all.size() <= emitted_) return {};
  std::string fresh = all.substr(emitted_);
  emitted_ = all.size();
  return fresh;
}

}  // namespace tessera

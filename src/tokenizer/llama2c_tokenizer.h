// llama2.c tokenizer.bin from memory, for fuzzing and tests; tokenizer.h's
// load_llama2c_tokenizer maps the file and calls this.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "tokenizer/tokenizer.h"

namespace tessera {

// vocab_size 0: read records until the end of the data.
std::unique_ptr<Tokenizer> llama2c_tokenizer_from_bytes(std::string_view data, int vocab_size,
                                                        const std::string& where);

}  // namespace tessera

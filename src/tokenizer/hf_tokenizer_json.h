// Hugging Face tokenizer.json loading from memory (the file loader in tokenizer.h reads
// the file and any tokenizer_config.json beside it, then calls this). Exposed separately
// so fuzzers and tests can feed bytes directly.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "tokenizer/tokenizer.h"

namespace tessera {

// where: the name used in error messages (normally the path). config_json: the text of a
// tokenizer_config.json ("" if none), consulted only for bos_token / eos_token.
std::unique_ptr<Tokenizer> load_tokenizer_json_string(std::string_view json,
                                                      const std::string& where,
                                                      std::string_view config_json = {});

}  // namespace tessera

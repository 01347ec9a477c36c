// Writing a file so that a reader (or a crash) sees either the old content or the new,
// never a half-written file: the text goes to PATH.tmp, which is renamed over PATH.
#pragma once

#include <string>

namespace tessera {

// Throws tessera::Error naming the path when it cannot be written or moved.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace tessera

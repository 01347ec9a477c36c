#include "core/atomic_write.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace tessera {

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) fail("cannot write '{}'", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail("cannot move '{}' to '{}': {}", tmp, path, ec.message());
}

}  // namespace tessera

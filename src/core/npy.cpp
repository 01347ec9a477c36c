#include "core/npy.h"

#include <cstring>
#include <fstream>

#include "core/error.h"

namespace tessera {

void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape,
                   const std::vector<float>& values) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  TS_CHECK(n == int64_t(values.size()), "npy shape holds {} values, got {}", n, values.size());
  std::string dims;
  for (int64_t d : shape) dims += fmt::format("{}, ", d);
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // "(3,)" keeps its comma, "(2, 3)" not
  std::string header =
      fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
  // Magic (6) + version (2) + header length (2) + header + '\n' must be a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("{}: cannot open for writing", path);
  const char magic[8] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.write(magic, 8);
  uint16_t hlen = uint16_t(header.size());
  char hl[2] = {char(hlen & 0xff), char(hlen >> 8)};
  out.write(hl, 2);
  out.write(header.data(), std::streamsize(header.size()));
  out.write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size() * 4));
  if (!out) fail("{}: write failed", path);
}

}  // namespace tessera

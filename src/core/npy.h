// NumPy .npy writer (format version 1.0, little-endian float32, C order), so logits can be
// compared against other implementations with numpy.load. Written by hand because the
// format is a 10-line header and no Debian C++ library covers it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tessera {

void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape,
                   const std::vector<float>& values);

}  // namespace tessera

// Weights are filled tensor by tensor straight into their final buffers (TensorEntry::fill),
// so an 8B shape never exists twice in memory; the total is checked against physical memory
// first because a random model of a large shape is tens of gigabytes in f32.
#include "emulate/shape_model.h"

#include <unistd.h>

#include "core/error.h"
#include "model/shapes.h"

namespace tessera {

Model shape_model(const std::string& name, uint64_t seed) {
  Model m;
  m.config = shape_config(name);
  m.source = "shape:" + name;
  m.format = "memory";
  std::vector<TensorEntry> entries = random_tensors(m.config, seed);
  double bytes = 0;
  for (const TensorEntry& e : entries) bytes += double(e.numel()) * 4;
  const double phys = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGESIZE));
  if (bytes > 0.9 * phys)
    fail("shape '{}' needs {:.1f} GiB of f32 weights, more than this machine's {:.1f} GiB of memory", name,
         bytes / double(1 << 30), phys / double(1 << 30));
  for (TensorEntry& e : entries) {
    std::vector<float> v(size_t(e.numel()));
    e.fill(v.data());
    m.weights[e.name] = Tensor::owned_f32(e.shape, std::move(v));
  }
  m.validate();
  return m;
}

}  // namespace tessera

// export_from turns a loaded model into lazily-read export entries: each fill converts
// one tensor to fp32 when the writer asks for it, so converting a large model never
// materialises more than one tensor as fp32.
#include "model/export.h"

#include "core/error.h"
#include "model/weight_names.h"

namespace tessera {

ExportModel export_from(const Model& m, const VocabSpec& vocab) {
  ExportModel e;
  e.config = m.config;
  e.vocab = vocab;
  e.chat_template = m.chat_template;
  for (const auto& spec : canonical_weights(m.config)) {
    const Tensor& t = m.weight(spec.name);
    if (t.shape != spec.shape) {
      Tensor want;
      want.shape = spec.shape;
      fail("{}: weight '{}' has shape {}, expected {}", m.source, spec.name, t.shape_str(),
           want.shape_str());
    }
    Tensor copy = t;  // shares the data's owner, so the entry outlives m safely
    e.tensors.push_back({spec.name, spec.shape, [copy](float* dst) { copy.to_f32(0, copy.numel(), dst); }});
  }
  return e;
}

}  // namespace tessera

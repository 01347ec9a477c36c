// Sizes come from plan files, so every element count and byte total is computed with
// overflow checks and compared with the machine's memory before anything is allocated.
#include "emulate/storage.h"

#include <cmath>
#include <cstring>
#include <limits>

#include <unistd.h>

#include "core/dtype.h"
#include "core/error.h"
#include "engine/rope.h"

namespace tessera {

namespace {

int64_t checked_numel(const Buffer& b) {
  int64_t n = 1;
  for (int64_t d : b.shape) {
    if (d < 0) fail("plan buffer '{}' has a negative dimension {}", b.name, d);
    if (__builtin_mul_overflow(n, d, &n)) fail("plan buffer '{}': element count overflows", b.name);
  }
  return n;
}

int64_t storage_size(BufDType t) { return t == BufDType::BF16 ? 2 : 4; }

std::vector<float> default_constant(const Plan& plan, int32_t id, const ModelConfig& config) {
  const Buffer& b = plan.buffers[size_t(id)];
  if (b.weight == "rope_inv_freq") return rope_inv_freq(config, "plan buffer '" + b.name + "'");
  fail("plan buffer '{}' is a constant holding '{}', which the emulator cannot compute without a "
       "constant provider (it knows 'rope_inv_freq')", b.name, b.weight);
}

}  // namespace

PlanStorage bind_storage(const Plan& plan, const Model& model, bool gpu_numerics,
                         const ConstantProvider& constants) {
  PlanStorage s;
  s.bufs.resize(plan.buffers.size());

  // Owned bytes first, so an impossible plan is refused before any allocation.
  const double phys = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGESIZE));
  double total = 0;
  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    const Buffer& b = plan.buffers[i];
    if (b.id != int32_t(i)) fail("plan buffer '{}' has id {} at index {}", b.name, b.id, i);
    BufferData& d = s.bufs[i];
    d.shape = b.shape;
    d.dtype = b.dtype == BufDType::I32 ? BufDType::I32 : gpu_numerics ? b.dtype : BufDType::F32;
    if (b.kind == BufferKind::Constant) d.dtype = BufDType::F32;
    total += double(checked_numel(b)) * double(storage_size(d.dtype));
  }
  if (total > phys)
    fail("plan '{}': its buffers need {:.1f} GiB, more than this machine's {:.1f} GiB of memory",
         plan.model, total / double(1 << 30), phys / double(1 << 30));

  auto allocate = [&](BufferData& d, int64_t n) {
    const int64_t bytes = n * storage_size(d.dtype);
    s.owned.push_back(std::make_unique<uint8_t[]>(size_t(std::max<int64_t>(bytes, 1))));
    std::memset(s.owned.back().get(), 0, size_t(bytes));
    d.data = s.owned.back().get();
    s.owned_bytes += bytes;
  };

  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    const Buffer& b = plan.buffers[i];
    BufferData& d = s.bufs[i];
    const int64_t n = checked_numel(b);
    switch (b.kind) {
      case BufferKind::Weight: {
        if (b.dtype == BufDType::I32) fail("plan weight buffer '{}' has dtype i32", b.name);
        const Tensor* t = nullptr;
        if (model.has(b.weight)) t = &model.weights.at(b.weight);
        else if (b.weight == "lm_head.weight" && model.config.tie_word_embeddings) t = &model.lm_head();
        else fail("plan buffer '{}' binds weight '{}', which model '{}' does not have", b.name, b.weight, model.source);
        if (t->shape != b.shape)
          fail("plan buffer '{}' binds weight '{}' of shape {}, but the plan expects [{}]", b.name, b.weight,
               t->shape_str(), fmt::join(b.shape, ", "));
        // Zero-copy when the model already stores the storage dtype; twins never write weights.
        if ((t->dtype == DType::F32 && d.dtype == BufDType::F32) ||
            (t->dtype == DType::BF16 && d.dtype == BufDType::BF16)) {
          d.data = const_cast<void*>(t->data);
          break;
        }
        allocate(d, n);
        constexpr int64_t kChunk = 1 << 16;
        std::vector<float> tmp(size_t(std::min(n, kChunk)));
        for (int64_t at = 0; at < n; at += kChunk) {
          const int64_t m = std::min(kChunk, n - at);
          t->to_f32(at, m, tmp.data());
          if (d.dtype == BufDType::F32) {
            std::memcpy(static_cast<float*>(d.data) + at, tmp.data(), size_t(m) * 4);
          } else {
            uint16_t* out = static_cast<uint16_t*>(d.data) + at;
            for (int64_t j = 0; j < m; ++j) out[j] = f32_to_bf16(tmp[size_t(j)]);
          }
        }
        break;
      }
      case BufferKind::Constant: {
        std::vector<float> v = constants ? constants(plan, int32_t(i)) : default_constant(plan, int32_t(i), model.config);
        if (int64_t(v.size()) != n)
          fail("plan buffer '{}': constant '{}' has {} values, the buffer holds {}", b.name, b.weight, v.size(), n);
        allocate(d, n);
        std::memcpy(d.data, v.data(), size_t(n) * 4);
        break;
      }
      case BufferKind::Input:
        if (int32_t(i) != plan.token_input)
          fail("plan buffer '{}' is an input but not the plan's token input; the emulator has nothing to put in it",
               b.name);
        allocate(d, n);
        break;
      case BufferKind::State:
      case BufferKind::Activation:
      case BufferKind::Output:
        allocate(d, n);
        break;
    }
  }
  return s;
}

void poison_step_buffers(const Plan& plan, PlanStorage& s) {
  for (const Buffer& b : plan.buffers) {
    if (b.kind != BufferKind::Activation && b.kind != BufferKind::Output) continue;
    BufferData& d = s.bufs[size_t(b.id)];
    const int64_t n = d.numel();
    if (d.dtype == BufDType::I32) {
      std::fill_n(static_cast<int32_t*>(d.data), n, -1);
    } else if (d.dtype == BufDType::F32) {
      std::fill_n(static_cast<float*>(d.data), n, std::numeric_limits<float>::quiet_NaN());
    } else {
      std::fill_n(static_cast<uint16_t*>(d.data), n, uint16_t(0x7fc0));
    }
  }
}

}  // namespace tessera

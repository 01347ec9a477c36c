// See cuda_test_util.h.
#include "cuda_test_util.h"
#include "cuda/bench_gpu.h"

#include "core/dtype.h"
#include "plan/footprint.h"

namespace tessera::test {

Task& PlanBuilder::task(Op op, const TaskParams& p) {
  Task t;
  t.id = int32_t(plan.tasks.size());
  t.op = op;
  t.sm = 0;
  t.p = p;
  Footprint f = footprint(plan, t);
  t.reads = f.reads;
  t.writes = f.writes;
  plan.tasks.push_back(t);
  if (plan.queues.empty()) plan.queues.emplace_back();
  plan.queues[0].push_back(t.id);
  return plan.tasks.back();
}

static int64_t numel(const Buffer& b) {
  int64_t n = 1;
  for (int64_t d : b.shape) n *= d;
  return n;
}

HostBuffers random_buffers(const Plan& plan, uint64_t seed, int32_t int_hi) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  HostBuffers h;
  for (const Buffer& b : plan.buffers) {
    const int64_t n = numel(b);
    std::vector<uint8_t> v(size_t(n * buf_dtype_size(b.dtype)));
    for (int64_t i = 0; i < n; ++i) {
      if (b.dtype == BufDType::F32) {
        const float f = normal(rng);
        std::memcpy(v.data() + 4 * i, &f, 4);
      } else if (b.dtype == BufDType::BF16) {
        const uint16_t x = f32_to_bf16(normal(rng));
        std::memcpy(v.data() + 2 * i, &x, 2);
      } else {
        const int32_t x = int32_t(rng() % uint64_t(int_hi));
        std::memcpy(v.data() + 4 * i, &x, 4);
      }
    }
    h.bytes.push_back(std::move(v));
  }
  return h;
}

std::vector<uint8_t> written_mask(const Plan& plan, const Task& t, int32_t buf, int64_t pos) {
  const Buffer& b = plan.buffers[size_t(buf)];
  std::vector<uint8_t> mask(size_t(numel(b)), 0);
  for (const Region& r : t.writes) {
    if (r.buf != buf) continue;
    std::vector<int64_t> lo, hi;
    bool empty = false;
    for (const Interval& iv : r.dims) {
      lo.push_back(iv.lo_at(pos));
      hi.push_back(iv.hi_at(pos));
      if (hi.back() <= lo.back()) empty = true;
    }
    if (empty) continue;
    std::vector<int64_t> idx = lo;
    while (true) {
      int64_t flat = 0;
      for (size_t d = 0; d < idx.size(); ++d) flat = flat * b.shape[d] + idx[d];
      mask[size_t(flat)] = 1;
      bool done = true;
      for (size_t d = idx.size(); d-- > 0;) {
        if (++idx[d] < hi[d]) {
          done = false;
          break;
        }
        idx[d] = lo[d];
      }
      if (done) break;
    }
  }
  return mask;
}

double element(const Buffer& b, const std::vector<uint8_t>& bytes, int64_t i) {
  if (b.dtype == BufDType::F32) {
    float f;
    std::memcpy(&f, bytes.data() + 4 * i, 4);
    return f;
  }
  if (b.dtype == BufDType::BF16) {
    uint16_t x;
    std::memcpy(&x, bytes.data() + 2 * i, 2);
    return bf16_to_f32(x);
  }
  int32_t x;
  std::memcpy(&x, bytes.data() + 4 * i, 4);
  return x;
}

bool is_poison(const Buffer& b, const std::vector<uint8_t>& bytes, int64_t i) {
  if (b.dtype == BufDType::BF16) {
    uint16_t x;
    std::memcpy(&x, bytes.data() + 2 * i, 2);
    return x == kPoisonBF16;
  }
  uint32_t x;
  std::memcpy(&x, bytes.data() + 4 * i, 4);
  return x == (b.dtype == BufDType::F32 ? kPoisonF32 : uint32_t(kPoisonI32));
}

void poison(const Buffer& b, std::vector<uint8_t>& bytes, const std::vector<uint8_t>& mask) {
  for (size_t i = 0; i < mask.size(); ++i) {
    if (!mask[i]) continue;
    if (b.dtype == BufDType::BF16) std::memcpy(bytes.data() + 2 * i, &kPoisonBF16, 2);
    else if (b.dtype == BufDType::F32) std::memcpy(bytes.data() + 4 * i, &kPoisonF32, 4);
    else std::memcpy(bytes.data() + 4 * i, &kPoisonI32, 4);
  }
}

Plan plan_for_device(const ModelConfig& config, const LowerConfig& knobs, int context, const std::string& label) {
  Target t = target_preset(cuda_device_arch());
  t.sms = cuda_device_sms();
  LowerConfig k = knobs;
  if (k.sms == 0 || k.sms > t.sms) k.sms = t.sms;
  return lower(config, t, k, context, label);
}

}  // namespace tessera::test

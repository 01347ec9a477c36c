// Helpers of the CUDA tests: skipping without a device, one-task plans built from a few
// buffers, seeded random contents, and the poison / guard / footprint bookkeeping that
// proves an instruction wrote exactly its footprint.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda/runtime.h"
#include "plan/lower.h"
#include "plan/plan.h"

namespace tessera::test {

#define TESSERA_REQUIRE_CUDA()                                          \
  do {                                                                  \
    std::string why_;                                                   \
    if (!::tessera::cuda_device_available(&why_))                       \
      GTEST_SKIP() << "no CUDA device (" << why_ << "): GPU test skipped"; \
  } while (0)

inline constexpr uint32_t kPoisonF32 = 0x7fc0dead;  // a NaN no instruction produces
inline constexpr uint16_t kPoisonBF16 = 0x7fad;
inline constexpr int32_t kPoisonI32 = 0x7eadbeef;
inline constexpr uint8_t kGuardByte = 0xa5;
inline constexpr int64_t kGuardBytes = 256;

// `config` lowered for this device: its architecture's preset and SM count (knobs.sms, when
// set and smaller, wins), as `tessera bench` lowers its default plan.
Plan plan_for_device(const ModelConfig& config, const LowerConfig& knobs, int context, const std::string& label);

// A plan under construction with one queue.
struct PlanBuilder {
  Plan plan;
  explicit PlanBuilder(int32_t context) {
    plan.model = "one-task";
    plan.context = context;
    plan.resources.threads = 256;
  }
  int32_t add(const std::string& name, BufferKind kind, BufDType dtype, std::vector<int64_t> shape) {
    Buffer b;
    b.id = int32_t(plan.buffers.size());
    b.name = name;
    b.kind = kind;
    b.dtype = dtype;
    b.shape = std::move(shape);
    if (kind == BufferKind::Weight) b.weight = name;
    plan.buffers.push_back(b);
    return b.id;
  }
  // Appends a task (footprint filled in), all in queue 0.
  Task& task(Op op, const TaskParams& p);
};

// Host copy of every buffer of a plan, in the plan's dtypes.
struct HostBuffers {
  std::vector<std::vector<uint8_t>> bytes;
};

// Random contents: f32 ~ N(0, 1), bf16 the same rounded, i32 in [0, int_hi).
HostBuffers random_buffers(const Plan& plan, uint64_t seed, int32_t int_hi);

// Elements of buffer `buf` that the task's writes cover at `pos` (flat indices).
std::vector<uint8_t> written_mask(const Plan& plan, const Task& t, int32_t buf, int64_t pos);

double element(const Buffer& b, const std::vector<uint8_t>& bytes, int64_t i);
bool is_poison(const Buffer& b, const std::vector<uint8_t>& bytes, int64_t i);
void poison(const Buffer& b, std::vector<uint8_t>& bytes, const std::vector<uint8_t>& mask);

}  // namespace tessera::test

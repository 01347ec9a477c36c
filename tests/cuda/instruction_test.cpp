// Every CUDA instruction against its CPU twin (execute_task, src/emulate), one-task plans
// over a table of shapes, fresh seeded random inputs per case. The GPU run sees poisoned
// outputs and guard bytes around every buffer; the test checks
//   - every element of the task's write footprint was written (no poison left),
//   - no element outside it changed, in any buffer, guards included,
//   - written values agree with the twin (bf16-storage mode, the plan's dtypes).
// Tolerance: |gpu - twin| <= 1e-3 * (|twin| + rms(twin)), plus one bf16 rounding step
// (2^-8 |twin|) where the destination is bf16. Both sides accumulate in fp32 over the same
// bf16 inputs, so the difference is summation order (~1e-6 relative); the bound leaves room
// for a bf16 store rounding the other way, and catches any real indexing error (O(1)).
// These plans read host-filled activations, which the validator rightly calls
// uninitialised: they run with unsafe_skip_validation (structure is still checked).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>

#include <fmt/format.h>

#include "cuda_test_util.h"
#include "emulate/instructions_cpu.h"
#include "plan/footprint.h"

namespace tessera::test {
namespace {

using Prepare = std::function<void(const Plan&, HostBuffers&)>;

void run_case(const Plan& plan, int64_t pos, uint64_t seed, int32_t int_hi, const std::string& label,
              const Prepare& prepare = {}) {
  SCOPED_TRACE(label);
  const Task& t = plan.tasks.at(0);
  HostBuffers init = random_buffers(plan, seed, int_hi);
  if (prepare) prepare(plan, init);
  std::vector<std::vector<uint8_t>> masks;
  for (const Buffer& b : plan.buffers) {
    masks.push_back(written_mask(plan, t, b.id, pos));
    poison(b, init.bytes[size_t(b.id)], masks.back());
  }

  HostBuffers cpu = init;
  std::vector<BufferData> bd;
  for (const Buffer& b : plan.buffers) bd.push_back(BufferData{cpu.bytes[size_t(b.id)].data(), b.dtype, b.shape});
  execute_task(plan, t, bd, pos);

  // Every case on every weight path: plain loads (ring 0) one and two rows per warp, and
  // the per-warp bulk-copy stream (sm_90+; plain loads elsewhere) with a small ring of
  // 512-byte slots, the whole ring with the default slots and with 1 KiB slots. Every path
  // sums in the same order, so each must give the first path's bits exactly.
  constexpr int64_t kWholeRing = int64_t(1) << 30;  // clamped to what the device leaves
  struct Path { int64_t ring; int rows; int64_t slot; };
  std::vector<std::vector<uint8_t>> first;
  for (const Path path : {Path{0, 1, 0}, Path{0, 2, 0}, Path{16384, 1, 512}, Path{kWholeRing, 2, 0}, Path{kWholeRing, 1, 1024}}) {
    const int64_t ring = path.ring;
    SCOPED_TRACE(fmt::format("ring {} slot {}, {} rows per warp", ring, path.slot, path.rows));
    CudaOptions o;
    o.ring_bytes = ring;
    o.ring_slot_bytes = path.slot;
    o.rows_per_warp = path.rows;
    o.unsafe_skip_validation = true;
    o.guard_bytes = kGuardBytes;
    PlanRunner r(plan, o);
    for (const Buffer& b : plan.buffers) {
      std::vector<uint8_t> g(size_t(kGuardBytes), kGuardByte);
      g.insert(g.end(), init.bytes[size_t(b.id)].begin(), init.bytes[size_t(b.id)].end());
      g.insert(g.end(), size_t(kGuardBytes), kGuardByte);
      r.write_with_guards(b.id, g);
    }
    r.step(pos);

    double worst = 0;
    for (const Buffer& b : plan.buffers) {
      const std::vector<uint8_t> all = r.read_with_guards(b.id);
      const size_t n = init.bytes[size_t(b.id)].size();
      ASSERT_EQ(all.size(), n + 2 * size_t(kGuardBytes));
      for (size_t i = 0; i < size_t(kGuardBytes); ++i) {
        ASSERT_EQ(all[i], kGuardByte) << "buffer '" << b.name << "': guard byte " << i << " before it was overwritten";
        ASSERT_EQ(all[n + size_t(kGuardBytes) + i], kGuardByte)
            << "buffer '" << b.name << "': guard byte " << i << " after it was overwritten";
      }
      const std::vector<uint8_t> got(all.begin() + kGuardBytes, all.begin() + kGuardBytes + int64_t(n));
      if (first.size() < plan.buffers.size()) {
        first.push_back(got);
      } else if (got != first[size_t(b.id)]) {
        size_t i = 0;
        while (got[i] == first[size_t(b.id)][i]) ++i;
        ADD_FAILURE() << "buffer '" << b.name << "' byte " << i << " differs from the plain-load path's (ring 0, 1 row per warp)";
      }
      const std::vector<uint8_t>& mask = masks[size_t(b.id)];
      const size_t esize = size_t(buf_dtype_size(b.dtype));
      double ss = 0;
      int64_t count = 0;
      for (size_t i = 0; i < mask.size(); ++i)
        if (mask[i]) {
          const double c = element(b, cpu.bytes[size_t(b.id)], int64_t(i));
          ss += c * c;
          ++count;
        }
      const double rms = count ? std::sqrt(ss / double(count)) : 0;
      int reported = 0;
      for (size_t i = 0; i < mask.size() && reported < 5; ++i) {
        if (!mask[i]) {
          if (std::memcmp(got.data() + i * esize, init.bytes[size_t(b.id)].data() + i * esize, esize) != 0) {
            ADD_FAILURE() << "buffer '" << b.name << "' element " << i << " is outside the footprint but changed";
            ++reported;
          }
          continue;
        }
        if (is_poison(b, got, int64_t(i))) {
          ADD_FAILURE() << "buffer '" << b.name << "' element " << i << " is in the footprint but was not written";
          ++reported;
          continue;
        }
        ASSERT_FALSE(is_poison(b, cpu.bytes[size_t(b.id)], int64_t(i)))
            << "the CPU twin left buffer '" << b.name << "' element " << i << " unwritten";
        const double g = element(b, got, int64_t(i)), c = element(b, cpu.bytes[size_t(b.id)], int64_t(i));
        if (b.dtype == BufDType::I32) {
          if (g != c) {
            ADD_FAILURE() << "buffer '" << b.name << "' element " << i << ": gpu " << g << ", twin " << c;
            ++reported;
          }
          continue;
        }
        if (std::isinf(c) && g == c) continue;  // empty split-KV chunks carry -inf
        double tol = 1e-3 * (std::fabs(c) + rms);
        if (b.dtype == BufDType::BF16) tol += std::ldexp(std::fabs(c), -8);
        const double err = std::fabs(g - c);
        worst = std::max(worst, err / (std::fabs(c) + rms + 1e-30));
        if (!(err <= tol)) {
          ADD_FAILURE() << "buffer '" << b.name << "' element " << i << ": gpu " << g << ", twin " << c
                        << " (error " << err << " > tolerance " << tol << ")";
          ++reported;
        }
      }
    }
    std::printf("[ instr    ] %-60s ring %6lld/%5lld x%d: worst |gpu-twin|/(|twin|+rms) = %.2e\n", label.c_str(), (long long)ring, (long long)path.slot, path.rows, worst);
  }
}

constexpr auto W = BufferKind::Weight;
constexpr auto A = BufferKind::Activation;
constexpr auto S = BufferKind::State;
constexpr auto O = BufferKind::Output;
constexpr auto C = BufferKind::Constant;
constexpr auto I = BufferKind::Input;
constexpr auto F = BufDType::F32;
constexpr auto H = BufDType::BF16;

TEST(CudaInstr, Embed) {
  TESSERA_REQUIRE_CUDA();
  struct Case { int64_t V, D, cb, ce; BufDType wd; };
  // The last three take the 16-byte path: a whole 8B-wide row (two passes of 4 vectors a
  // thread), a column range, and a tail of part of a pass.
  for (const Case& k : {Case{7, 5, 0, 5, H}, Case{32, 64, 16, 48, H}, Case{100, 288, 0, 288, F},
                        Case{50, 4096, 0, 4096, H}, Case{50, 2048, 1024, 2048, H}, Case{9, 6000, 8, 5000, H}}) {
    PlanBuilder pb(8);
    TaskParams p;
    p.in = pb.add("token", I, BufDType::I32, {1});
    p.w = pb.add("table", W, k.wd, {k.V, k.D});
    p.out = pb.add("x", A, F, {k.D});
    p.row_begin = k.cb;
    p.row_end = k.ce;
    pb.task(Op::Embed, p);
    run_case(pb.plan, 0, 100 + uint64_t(k.D), int32_t(k.V), fmt::format("embed V={} D={} cols [{},{})", k.V, k.D, k.cb, k.ce));
  }
}

TEST(CudaInstr, RmsNorm) {
  TESSERA_REQUIRE_CUDA();
  struct Case { int64_t D, rb, re; BufDType nd; };
  for (const Case& k : {Case{5, 0, 5, H}, Case{64, 8, 40, H}, Case{288, 0, 288, F}, Case{1000, 1, 999, H}}) {
    PlanBuilder pb(8);
    TaskParams p;
    p.in = pb.add("x", A, F, {k.D});
    p.norm = pb.add("g", W, k.nd, {k.D});
    p.out = pb.add("h", A, F, {k.D});
    p.row_begin = k.rb;
    p.row_end = k.re;
    p.eps = 1e-5f;
    pb.task(Op::RmsNorm, p);
    run_case(pb.plan, 0, 200 + uint64_t(k.D), 1, fmt::format("rmsnorm D={} rows [{},{})", k.D, k.rb, k.re));
  }
}

struct MvCase {
  int64_t K, N, rb, re;
  bool norm = false, bias = false, w2 = false, qk = false, rope = false, residual = false, pairs = false;
  int hd = 0;
  int out_at_pos = 0;  // 0: vector; 1: bf16 cache; 2: f32 cache
  int64_t ctx = 8, pos = 0;
  BufDType wd = H;
};

std::string mv_label(const MvCase& k) {
  return fmt::format("norm_matvec K={} N={} rows [{},{}){}{}{}{}{}{}{} hd={} out_at_pos={} pos={} w={}", k.K, k.N, k.rb,
                     k.re, k.norm ? " norm" : "", k.bias ? " bias" : "", k.w2 ? " w2" : "", k.qk ? " qk" : "",
                     k.rope ? " rope" : "", k.pairs ? " rope_pairs" : "", k.residual ? " residual" : "", k.hd,
                     k.out_at_pos, k.pos, buf_dtype_name(k.wd));
}

TEST(CudaInstr, NormMatvec) {
  TESSERA_REQUIRE_CUDA();
  std::vector<MvCase> cases;
  cases.push_back({288, 64, 8, 40});
  { MvCase k{13, 7, 0, 7}; k.norm = k.bias = true; k.wd = F; cases.push_back(k); }
  { MvCase k{1000, 300, 0, 300}; k.norm = k.w2 = true; cases.push_back(k); }
  { MvCase k{64, 256, 64, 192}; k.norm = k.qk = k.rope = true; k.hd = 64; cases.push_back(k); }
  { MvCase k{128, 512, 0, 256}; k.rope = k.bias = true; k.hd = 128; k.pos = 1; cases.push_back(k); }
  { MvCase k{64, 128, 0, 128}; k.norm = k.rope = true; k.hd = 64; k.out_at_pos = 1; k.ctx = 300; k.pos = 299; cases.push_back(k); }
  { MvCase k{64, 128, 64, 128}; k.qk = true; k.hd = 64; k.out_at_pos = 2; k.ctx = 8; k.pos = 5; cases.push_back(k); }
  { MvCase k{4096, 48, 0, 48}; k.residual = true; cases.push_back(k); }
  { MvCase k{576, 1536, 100, 612}; k.norm = k.w2 = true; k.wd = F; cases.push_back(k); }
  // Shapes of the 1B's tiles: a gated 2048-wide product (half rows per slot) and an
  // 8192-wide one (quarter rows), over fewer rows than warps have lanes for whole rows.
  { MvCase k{2048, 96, 16, 80}; k.norm = k.w2 = true; cases.push_back(k); }
  { MvCase k{8192, 40, 3, 40}; k.residual = true; cases.push_back(k); }
  // Part of a head (rope_pairs): rotation pairs [16, 32) of head 1 and their partners, into
  // a bf16 cache row deep in the context; pairs [5, 19) of head 0 with a bias, uneven.
  { MvCase k{2048, 256, 80, 96}; k.norm = k.rope = k.pairs = true; k.hd = 64; k.out_at_pos = 1; k.ctx = 300; k.pos = 297; cases.push_back(k); }
  { MvCase k{96, 128, 5, 19}; k.rope = k.pairs = k.bias = true; k.hd = 128; k.pos = 7; cases.push_back(k); }
  // Pairs across heads (the default q/k/v tiling): [20, 32) of head 0, all of head 1 and
  // [0, 3) of head 2 into a bf16 cache row; [60, 64) of head 0 and [0, 12) of head 1 with
  // a bias, an odd pair count so the last warp streams one row.
  { MvCase k{2048, 256, 20, 131}; k.norm = k.rope = k.pairs = true; k.hd = 64; k.out_at_pos = 1; k.ctx = 300; k.pos = 298; cases.push_back(k); }
  { MvCase k{4096, 256, 60, 139}; k.rope = k.pairs = k.bias = true; k.hd = 128; k.pos = 3; cases.push_back(k); }
  { MvCase k{64, 64, 7, 17}; k.rope = k.pairs = true; k.hd = 16; k.pos = 2; cases.push_back(k); }
  uint64_t seed = 300;
  for (const MvCase& k : cases) {
    PlanBuilder pb(int32_t(k.ctx));
    TaskParams p;
    p.in = pb.add("x", A, F, {k.K});
    if (k.norm) p.norm = pb.add("g", W, H, {k.K});
    p.w = pb.add("w", W, k.wd, {k.N, k.K});
    if (k.w2) p.w2 = pb.add("w2", W, k.wd, {k.N, k.K});
    if (k.bias) p.bias = pb.add("b", W, H, {k.N});
    if (k.qk) p.qk_norm = pb.add("qk", W, H, {k.hd});
    if (k.rope) p.rope = pb.add("rope_inv_freq", C, F, {k.hd / 2});
    if (k.residual) p.residual = pb.add("res", A, F, {k.N});
    if (k.out_at_pos) p.out = pb.add("cache", S, k.out_at_pos == 1 ? H : F, {k.ctx, k.N});
    else p.out = pb.add("y", A, F, {k.N});
    p.out_at_pos = k.out_at_pos != 0;
    p.rope_pairs = k.pairs;
    p.head_dim = k.hd;
    p.row_begin = k.rb;
    p.row_end = k.re;
    p.eps = 1e-6f;
    pb.task(Op::NormMatvec, p);
    run_case(pb.plan, k.pos, seed++, 1, mv_label(k));
  }
}

TEST(CudaInstr, AttnPartial) {
  TESSERA_REQUIRE_CUDA();
  struct Case { int64_t hq, hkv, hd, ctx; int splits, chunk; int64_t rb, re, pos; BufDType cd; };
  std::vector<Case> cases = {
      {4, 2, 64, 64, 1, 64, 0, 2, 0, H},    {8, 8, 128, 40, 1, 40, 3, 5, 1, H},
      {4, 1, 64, 256, 4, 64, 0, 1, 200, H}, {4, 1, 64, 256, 4, 64, 0, 1, 70, H},
      {6, 2, 128, 100, 2, 50, 0, 2, 99, F}, {32, 8, 64, 600, 1, 600, 2, 6, 517, H},
      // balanced splits with most runs empty (pos 0, 2), a long context, a qwen-like group of
      // 7, a group of 16 (attn_long in four passes), head_dim 16 (tiny)
      {8, 2, 64, 128, 8, 16, 0, 2, 0, H},   {8, 2, 64, 128, 8, 16, 1, 2, 2, H},
      {32, 8, 64, 4097, 16, 257, 0, 8, 4096, H}, {14, 2, 64, 300, 3, 100, 0, 2, 250, H},
      {16, 1, 64, 200, 2, 100, 0, 1, 150, H},    {4, 2, 16, 64, 2, 32, 0, 2, 40, F},
      // the one-pass long path (attn_long) at every head width it takes: an 8B-like split
      // of ~250 positions (hd 128: 16 lanes a row), a tail shorter than a row step, hd 32
      // (4 lanes, 8 rows a warp), hd 256 (a whole warp per row) and hd 8 (32 rows a warp)
      {32, 8, 128, 1024, 4, 256, 0, 8, 1000, H}, {8, 2, 128, 300, 1, 300, 0, 2, 77, H},
      {8, 4, 32, 200, 2, 100, 0, 4, 150, H},     {4, 1, 256, 100, 1, 100, 0, 1, 60, H},
      {8, 4, 8, 400, 1, 400, 1, 3, 333, H},
      // groups wider than 4 heads in passes of 4 (qwen-like 7: 4 + 3; 16: four passes); the
      // three-phase path's register-free fallback (group 16) now only with f32 caches
      {14, 2, 64, 2048, 4, 512, 0, 2, 1900, H}, {16, 1, 64, 200, 2, 100, 0, 1, 150, F},
  };
  uint64_t seed = 400;
  for (const Case& k : cases)
    for (int split = 0; split < k.splits; ++split) {
      PlanBuilder pb(int32_t(k.ctx));
      TaskParams p;
      p.in = pb.add("q", A, F, {k.hq * k.hd});
      p.in2 = pb.add("k_cache", S, k.cd, {k.ctx, k.hkv * k.hd});
      p.in3 = pb.add("v_cache", S, k.cd, {k.ctx, k.hkv * k.hd});
      if (k.splits == 1) {
        p.out = pb.add("attn", A, F, {k.hq * k.hd});
      } else {
        p.out = pb.add("parts", A, F, {k.hq, k.splits, k.hd});
        p.out2 = pb.add("ml", A, F, {k.hq, k.splits, 2});
      }
      p.head_dim = int32_t(k.hd);
      p.split = split;
      p.splits = k.splits;
      p.chunk = k.chunk;
      p.row_begin = k.rb;
      p.row_end = k.re;
      pb.task(Op::AttnPartial, p);
      run_case(pb.plan, k.pos, seed++, 1,
               fmt::format("attn_partial Hq={} Hkv={} hd={} ctx={} split {}/{} chunk {} kv [{},{}) pos={} cache={}", k.hq,
                           k.hkv, k.hd, k.ctx, split, k.splits, k.chunk, k.rb, k.re, k.pos, buf_dtype_name(k.cd)));
    }
}

TEST(CudaInstr, AttnMatvec) {
  TESSERA_REQUIRE_CUDA();
  // Attention folded into the o projection: every head over rows [0, pos], then the tile's
  // rows of W and the residual. 1B-like (32 heads, groups of 4, hd 64) at positions 0, 1
  // and the context's last; an 8B-like width; qwen-like groups of 7; f32 caches; hd 16 and
  // odd widths (the element-by-element gather); a tile without a residual.
  struct Case { int64_t hq, hkv, hd, ctx, N, rb, re, pos; BufDType cd, wd; bool residual; };
  const std::vector<Case> cases = {
      {32, 8, 64, 16, 256, 0, 16, 0, H, H, true},    {32, 8, 64, 16, 256, 16, 48, 1, H, H, true},
      {32, 8, 64, 32, 256, 200, 256, 31, H, H, true}, {64, 8, 128, 16, 128, 32, 64, 9, H, H, true},
      {14, 2, 64, 24, 96, 5, 37, 17, H, F, true},     {8, 2, 64, 8, 64, 0, 64, 7, F, H, false},
      {6, 3, 16, 5, 40, 3, 11, 4, H, H, true},        {12, 4, 24, 7, 30, 0, 30, 6, H, F, true},
      {6, 3, 16, 5, 40, 1, 10, 3, F, H, true},
  };
  uint64_t seed = 450;
  for (const Case& k : cases) {
    PlanBuilder pb(int32_t(k.ctx));
    TaskParams p;
    p.in = pb.add("q", A, F, {k.hq * k.hd});
    p.in2 = pb.add("k_cache", S, k.cd, {k.ctx, k.hkv * k.hd});
    p.in3 = pb.add("v_cache", S, k.cd, {k.ctx, k.hkv * k.hd});
    p.w = pb.add("wo", W, k.wd, {k.N, k.hq * k.hd});
    if (k.residual) p.residual = pb.add("x", A, F, {k.N});
    p.out = pb.add("xa", A, F, {k.N});
    p.head_dim = int32_t(k.hd);
    p.row_begin = k.rb;
    p.row_end = k.re;
    pb.task(Op::AttnMatvec, p);
    run_case(pb.plan, k.pos, seed++, 1,
             fmt::format("attn_matvec Hq={} Hkv={} hd={} ctx={} rows [{},{}) of {} pos={} cache={} w={}{}", k.hq, k.hkv,
                         k.hd, k.ctx, k.rb, k.re, k.N, k.pos, buf_dtype_name(k.cd), buf_dtype_name(k.wd),
                         k.residual ? "" : " no residual"));
  }
}

TEST(CudaInstr, AttnCombine) {
  TESSERA_REQUIRE_CUDA();
  struct Case { int64_t hq; int splits; int64_t hd, rb, re; };
  uint64_t seed = 500;
  for (const Case& k : {Case{4, 2, 64, 1, 3}, Case{8, 4, 128, 0, 8}, Case{3, 4, 64, 2, 3}}) {
    PlanBuilder pb(8);
    TaskParams p;
    p.in = pb.add("parts", A, F, {k.hq, k.splits, k.hd});
    p.in2 = pb.add("ml", A, F, {k.hq, k.splits, 2});
    p.out = pb.add("attn", A, F, {k.hq * k.hd});
    p.head_dim = int32_t(k.hd);
    p.splits = k.splits;
    p.row_begin = k.rb;
    p.row_end = k.re;
    pb.task(Op::AttnCombine, p);
    // Sums must be positive; the last split of every head is an empty chunk (-inf, 0).
    auto prepare = [&k](const Plan&, HostBuffers& h) {
      float* ml = reinterpret_cast<float*>(h.bytes[1].data());
      for (int64_t i = 0; i < k.hq * k.splits; ++i) {
        ml[2 * i + 1] = std::fabs(ml[2 * i + 1]) + 0.5f;
        if (i % k.splits == k.splits - 1) {
          ml[2 * i] = -INFINITY;
          ml[2 * i + 1] = 0.f;
        }
      }
    };
    run_case(pb.plan, 0, seed++, 1, fmt::format("attn_combine Hq={} S={} hd={} heads [{},{})", k.hq, k.splits, k.hd, k.rb, k.re),
             prepare);
  }
}

TEST(CudaInstr, LmHeadArgmax) {
  TESSERA_REQUIRE_CUDA();
  struct Case { int64_t V, D, rb, re; int32_t P, index; BufDType wd; };
  uint64_t seed = 600;
  for (const Case& k : {Case{100, 64, 0, 100, 1, 0, H}, Case{1000, 72, 250, 500, 4, 1, H}, Case{517, 288, 500, 517, 3, 2, F}}) {
    PlanBuilder pb(8);
    TaskParams p;
    p.in = pb.add("x", A, F, {k.D});
    p.norm = pb.add("g", W, H, {k.D});
    p.w = pb.add("lm_head", W, k.wd, {k.V, k.D});
    p.out = pb.add("logits", O, F, {k.V});
    p.out2 = pb.add("parts", A, F, {k.P, 2});
    p.index = k.index;
    p.row_begin = k.rb;
    p.row_end = k.re;
    pb.task(Op::LmHeadArgmax, p);
    run_case(pb.plan, 0, seed++, 1, fmt::format("lm_head_argmax V={} D={} rows [{},{}) slot {}", k.V, k.D, k.rb, k.re, k.index));
  }
}

TEST(CudaInstr, ArgmaxReduce) {
  TESSERA_REQUIRE_CUDA();
  for (int32_t P : {1, 5, 64, 132, 300}) {
    PlanBuilder pb(8);
    TaskParams p;
    p.in = pb.add("parts", A, F, {P, 2});
    p.out = pb.add("next_token", O, BufDType::I32, {1});
    p.count = P;
    pb.task(Op::ArgmaxReduce, p);
    // Partial j holds (value, row index 10 j + 3); the two largest values tie, so the lower
    // index must win.
    auto prepare = [P](const Plan&, HostBuffers& h) {
      float* v = reinterpret_cast<float*>(h.bytes[0].data());
      for (int32_t j = 0; j < P; ++j) v[2 * j + 1] = float(10 * j + 3);
      if (P > 2) v[2 * (P - 1)] = v[2 * 1] = 100.f;
    };
    run_case(pb.plan, 0, 700 + uint64_t(P), 1, fmt::format("argmax_reduce P={}", P), prepare);
  }
}

}  // namespace
}  // namespace tessera::test

// The CPU twins: each touches exactly its footprint (every buffer poisoned, guard elements
// around each, elements outside the read footprint set to NaN so reading them would show),
// and each computes what an independent, straightforward double-precision formula says.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <optional>
#include <tuple>
#include <random>

#include "core/dtype.h"
#include "core/error.h"
#include "emulate/instructions_cpu.h"
#include "plan/footprint.h"

namespace tessera {
namespace {

constexpr int64_t kGuard = 16;
constexpr uint32_t kSentinel32 = 0x7fa5a5a5u;  // a NaN payload no arithmetic produces
constexpr uint16_t kSentinel16 = 0x7fa5u;
constexpr uint8_t kGuardByte = 0xee;

// A plan holding the buffers of one task, with guarded storage for each.
class OneTask {
 public:
  explicit OneTask(int context = 8) { plan.context = context; }

  int32_t buf(const std::string& name, BufferKind kind, BufDType dtype, std::vector<int64_t> shape) {
    Buffer b;
    b.id = int32_t(plan.buffers.size());
    b.name = name;
    b.kind = kind;
    b.dtype = dtype;
    b.shape = std::move(shape);
    plan.buffers.push_back(b);
    return b.id;
  }

  // Allocates and fills storage: written buffers all sentinel; others random inside the
  // read footprint, NaN outside. value(buf, flat) overrides the random value when set.
  void prepare(Op op, const TaskParams& p, int64_t pos, uint64_t seed,
               std::function<std::optional<float>(int32_t, int64_t)> value = {}) {
    task.op = op;
    task.p = p;
    f = footprint(plan, task);
    this->pos = pos;
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    bytes.assign(plan.buffers.size(), {});
    bufs.assign(plan.buffers.size(), {});
    for (const Buffer& b : plan.buffers) {
      BufferData& d = bufs[size_t(b.id)];
      d.dtype = b.dtype;
      d.shape = b.shape;
      const int64_t es = b.dtype == BufDType::BF16 ? 2 : 4, n = d.numel();
      std::vector<uint8_t>& raw = bytes[size_t(b.id)];
      raw.assign(size_t((n + 2 * kGuard) * es), kGuardByte);
      d.data = raw.data() + kGuard * es;
      const bool written = touches(f.writes, b.id);
      for (int64_t i = 0; i < n; ++i) {
        if (written) {
          set_bits(d, i, kSentinel32, kSentinel16);
        } else if (in(f.reads, b.id, i)) {
          std::optional<float> v = value ? value(b.id, i) : std::nullopt;
          const float x = v ? *v : u(rng);
          if (b.dtype == BufDType::I32) static_cast<int32_t*>(d.data)[i] = int32_t(x);
          else if (b.dtype == BufDType::BF16) static_cast<uint16_t*>(d.data)[i] = f32_to_bf16(x);
          else static_cast<float*>(d.data)[i] = x;
        } else {
          set_bits(d, i, b.dtype == BufDType::I32 ? 0xdeadbeefu : 0x7fc00000u, 0x7fc0);
        }
      }
    }
    before = bytes;
  }

  void run() { execute_task(plan, task, bufs, pos); }
  // Every buffer as prepare() left it, without its guards.
  std::vector<std::vector<uint8_t>> initial_bytes() const {
    std::vector<std::vector<uint8_t>> out;
    for (const Buffer& b : plan.buffers) {
      const int64_t es = b.dtype == BufDType::BF16 ? 2 : 4;
      const std::vector<uint8_t>& raw = before[size_t(b.id)];
      out.emplace_back(raw.begin() + kGuard * es, raw.end() - kGuard * es);
    }
    return out;
  }

  // Exactly the write footprint changed, to non-NaN values; guards and the rest intact.
  void expect_exact_footprint() const {
    for (const Buffer& b : plan.buffers) {
      const BufferData& d = bufs[size_t(b.id)];
      const int64_t es = b.dtype == BufDType::BF16 ? 2 : 4, n = d.numel();
      const std::vector<uint8_t>& now = bytes[size_t(b.id)];
      const std::vector<uint8_t>& was = before[size_t(b.id)];
      for (int64_t g = 0; g < kGuard * es; ++g) {
        ASSERT_EQ(now[size_t(g)], kGuardByte) << b.name << ": guard before the buffer overwritten";
        ASSERT_EQ(now[now.size() - 1 - size_t(g)], kGuardByte) << b.name << ": guard after the buffer overwritten";
      }
      for (int64_t i = 0; i < n; ++i) {
        const bool same = std::memcmp(&now[size_t((kGuard + i) * es)], &was[size_t((kGuard + i) * es)], size_t(es)) == 0;
        if (in(f.writes, b.id, i)) {
          EXPECT_FALSE(same) << b.name << " element " << i << " in the write footprint was not written";
          if (b.dtype != BufDType::I32) {
            EXPECT_FALSE(std::isnan(get(b.id, i))) << b.name << " element " << i;
          }
        } else {
          EXPECT_TRUE(same) << b.name << " element " << i << " outside the write footprint changed";
        }
      }
    }
  }

  float get(int32_t buf, int64_t i) const {
    const BufferData& d = bufs[size_t(buf)];
    if (d.dtype == BufDType::BF16) return bf16_to_f32(static_cast<const uint16_t*>(d.data)[i]);
    if (d.dtype == BufDType::I32) return float(static_cast<const int32_t*>(d.data)[i]);
    return static_cast<const float*>(d.data)[i];
  }

  Plan plan;
  Task task;
  Footprint f;
  int64_t pos = 0;
  std::vector<BufferData> bufs;

 private:
  static void set_bits(BufferData& d, int64_t i, uint32_t w32, uint16_t w16) {
    if (d.dtype == BufDType::BF16) static_cast<uint16_t*>(d.data)[i] = w16;
    else std::memcpy(static_cast<uint32_t*>(d.data) + i, &w32, 4);
  }
  static bool touches(const std::vector<Region>& rs, int32_t buf) {
    for (const Region& r : rs)
      if (r.buf == buf) return true;
    return false;
  }
  bool in(const std::vector<Region>& rs, int32_t buf, int64_t flat) const {
    const std::vector<int64_t>& shape = plan.buffers[size_t(buf)].shape;
    for (const Region& r : rs) {
      if (r.buf != buf) continue;
      int64_t rest = flat;
      bool inside = true;
      for (size_t d = shape.size(); d-- > 0;) {
        const int64_t c = rest % shape[d];
        rest /= shape[d];
        if (c < r.dims[d].lo_at(pos) || c >= r.dims[d].hi_at(pos)) inside = false;
      }
      if (inside) return true;
    }
    return false;
  }

  std::vector<std::vector<uint8_t>> bytes, before;
};

// ---- footprint exactness, every opcode, several parameter sets ----

TEST(EmulateTwins, EmbedTouchesExactlyItsFootprint) {
  for (auto [lo, hi, token] : {std::tuple{3, 9, 4}, std::tuple{0, 12, 0}, std::tuple{11, 12, 6}}) {
    OneTask t;
    TaskParams p;
    p.in = t.buf("token", BufferKind::Input, BufDType::I32, {1});
    p.w = t.buf("table", BufferKind::Weight, BufDType::BF16, {7, 12});
    p.out = t.buf("x", BufferKind::Activation, BufDType::F32, {12});
    p.row_begin = lo, p.row_end = hi;
    t.prepare(Op::Embed, p, 0, 1, [&](int32_t b, int64_t) -> std::optional<float> {
      if (b == p.in) return float(token);
      return std::nullopt;
    });
    t.run();
    t.expect_exact_footprint();
    for (int c = lo; c < hi; ++c) EXPECT_EQ(t.get(p.out, c), t.get(p.w, token * 12 + c));
  }
}

TEST(EmulateTwins, EmbedRejectsTokenOutsideTable) {
  OneTask t;
  TaskParams p;
  p.in = t.buf("token", BufferKind::Input, BufDType::I32, {1});
  p.w = t.buf("table", BufferKind::Weight, BufDType::F32, {7, 12});
  p.out = t.buf("x", BufferKind::Activation, BufDType::F32, {12});
  p.row_begin = 0, p.row_end = 12;
  t.prepare(Op::Embed, p, 0, 1, [&](int32_t b, int64_t) -> std::optional<float> {
    if (b == p.in) return 7.f;
    return std::nullopt;
  });
  try {
    t.run();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "task 0 (embed): token id 7 is outside the embedding table of 7 rows");
  }
}

TEST(EmulateTwins, RmsNormTouchesExactlyItsFootprint) {
  for (auto [lo, hi] : {std::pair{4, 12}, std::pair{0, 16}}) {
    OneTask t;
    TaskParams p;
    p.in = t.buf("x", BufferKind::Activation, BufDType::F32, {16});
    p.norm = t.buf("g", BufferKind::Weight, BufDType::BF16, {16});
    p.out = t.buf("h", BufferKind::Activation, BufDType::F32, {16});
    p.row_begin = lo, p.row_end = hi;
    t.prepare(Op::RmsNorm, p, 0, 2);
    t.run();
    t.expect_exact_footprint();
    double ss = 0;
    for (int i = 0; i < 16; ++i) ss += double(t.get(p.in, i)) * t.get(p.in, i);
    for (int i = lo; i < hi; ++i) {
      const double want = t.get(p.in, i) / std::sqrt(ss / 16 + 1e-5) * t.get(p.norm, i);
      EXPECT_NEAR(t.get(p.out, i), want, 1e-6 * std::max(1.0, std::fabs(want)));
    }
  }
}

struct MatvecCase {
  const char* name;
  bool norm, bias, w2, qk_norm, rope, residual, at_pos;
  BufDType wdt, outdt;
  int64_t rb, re, pos;
};

TEST(EmulateTwins, NormMatvecTouchesExactlyItsFootprint) {
  const MatvecCase cases[] = {
      {"plain", false, false, false, false, false, false, false, BufDType::F32, BufDType::F32, 8, 20, 0},
      {"norm bias", true, true, false, false, false, false, false, BufDType::F32, BufDType::F32, 0, 32, 2},
      {"gated bf16", true, false, true, false, false, false, false, BufDType::BF16, BufDType::F32, 5, 13, 1},
      {"qk-norm rope", true, false, false, true, true, false, false, BufDType::F32, BufDType::F32, 8, 24, 5},
      {"rope to cache", true, true, false, false, true, false, true, BufDType::BF16, BufDType::F32, 16, 32, 3},
      {"bf16 cache residual", false, false, false, false, false, true, true, BufDType::F32, BufDType::BF16, 0, 8, 0},
      {"residual", false, false, false, false, false, true, false, BufDType::BF16, BufDType::F32, 24, 32, 4},
  };
  uint64_t seed = 10;
  for (const MatvecCase& c : cases) {
    SCOPED_TRACE(c.name);
    OneTask t(6);
    TaskParams p;
    p.in = t.buf("x", BufferKind::Activation, BufDType::F32, {24});
    if (c.norm) p.norm = t.buf("g", BufferKind::Weight, c.wdt, {24});
    p.w = t.buf("w", BufferKind::Weight, c.wdt, {32, 24});
    if (c.w2) p.w2 = t.buf("w2", BufferKind::Weight, c.wdt, {32, 24});
    if (c.bias) p.bias = t.buf("b", BufferKind::Weight, c.wdt, {32});
    if (c.qk_norm) p.qk_norm = t.buf("qn", BufferKind::Weight, c.wdt, {8});
    if (c.rope) p.rope = t.buf("rope", BufferKind::Constant, BufDType::F32, {4});
    if (c.residual) p.residual = t.buf("res", BufferKind::Activation, BufDType::F32, {32});
    if (c.rope || c.qk_norm) p.head_dim = 8;
    p.out_at_pos = c.at_pos;
    p.out = c.at_pos ? t.buf("cache", BufferKind::State, c.outdt, {6, 32})
                     : t.buf("y", BufferKind::Activation, c.outdt, {32});
    p.row_begin = c.rb, p.row_end = c.re;
    t.prepare(Op::NormMatvec, p, c.pos, seed++);
    t.run();
    t.expect_exact_footprint();
  }
}

TEST(EmulateTwins, AttentionTouchesExactlyItsFootprint) {
  // hq 4, hkv 2, hd 8, context 12; splits 1 and 3 (chunk 4), including an empty run
  // (pos 1: the 2 positions cut into 3 runs [0,0), [0,1), [1,2)).
  struct Case {
    int splits, split;
    int64_t rb, re, pos;
    BufDType cache;
  };
  for (const Case& c : {Case{1, 0, 1, 2, 7, BufDType::F32}, Case{1, 0, 0, 2, 0, BufDType::BF16},
                        Case{3, 1, 0, 2, 5, BufDType::F32}, Case{3, 0, 1, 2, 1, BufDType::BF16},
                        Case{3, 2, 0, 1, 11, BufDType::F32}}) {
    SCOPED_TRACE(testing::Message() << "splits " << c.splits << " split " << c.split << " pos " << c.pos);
    OneTask t(12);
    TaskParams p;
    p.in = t.buf("q", BufferKind::Activation, BufDType::F32, {32});
    p.in2 = t.buf("k", BufferKind::State, c.cache, {12, 16});
    p.in3 = t.buf("v", BufferKind::State, c.cache, {12, 16});
    if (c.splits == 1) {
      p.out = t.buf("attn", BufferKind::Activation, BufDType::F32, {32});
    } else {
      p.out = t.buf("part", BufferKind::Activation, BufDType::F32, {4, 3, 8});
      p.out2 = t.buf("stat", BufferKind::Activation, BufDType::F32, {4, 3, 2});
    }
    p.head_dim = 8, p.splits = c.splits, p.split = c.split, p.chunk = c.splits == 1 ? 12 : 4;
    p.row_begin = c.rb, p.row_end = c.re;
    t.prepare(Op::AttnPartial, p, c.pos, 20 + uint64_t(c.pos));
    t.run();
    t.expect_exact_footprint();
    if (c.splits == 3 && c.split == 0 && c.pos == 1) {  // empty run: (-inf, 0) and zeros
      for (int64_t h = 2; h < 4; ++h) {
        EXPECT_EQ(t.get(p.out2, (h * 3 + 0) * 2), -INFINITY);
        EXPECT_EQ(t.get(p.out2, (h * 3 + 0) * 2 + 1), 0.f);
        for (int j = 0; j < 8; ++j) EXPECT_EQ(t.get(p.out, (h * 3 + 0) * 8 + j), 0.f);
      }
    }
  }
}

// attn_matvec is attention (as attn_partial computes it, one split) followed by the o
// projection's matvec + residual: the folded twin must give the unfolded pair's bits.
TEST(EmulateTwins, AttnMatvecIsAttentionThenTheMatvec) {
  for (auto [pos, rb, re, cache] : {std::tuple{0, 0, 16, BufDType::F32}, std::tuple{5, 3, 11, BufDType::BF16},
                                    std::tuple{11, 15, 16, BufDType::BF16}}) {
    SCOPED_TRACE(testing::Message() << "pos " << pos << " rows [" << rb << ", " << re << ")");
    OneTask t(12);
    TaskParams p;
    p.in = t.buf("q", BufferKind::Activation, BufDType::F32, {32});
    p.in2 = t.buf("k", BufferKind::State, cache, {12, 16});
    p.in3 = t.buf("v", BufferKind::State, cache, {12, 16});
    p.w = t.buf("wo", BufferKind::Weight, BufDType::BF16, {16, 32});
    p.residual = t.buf("x", BufferKind::Activation, BufDType::F32, {16});
    p.out = t.buf("xa", BufferKind::Activation, BufDType::F32, {16});
    p.head_dim = 8, p.row_begin = rb, p.row_end = re;  // 4 query heads, 2 kv heads
    t.prepare(Op::AttnMatvec, p, pos, 31 + uint64_t(pos));
    t.run();
    t.expect_exact_footprint();

    // The same inputs through attn_partial (both kv heads) and norm_matvec.
    Plan two = t.plan;
    const int32_t attn = int32_t(two.buffers.size());
    two.buffers.push_back(Buffer{attn, "attn", BufferKind::Activation, BufDType::F32, {32}, ""});
    std::vector<std::vector<uint8_t>> bytes = t.initial_bytes();
    bytes.emplace_back(32 * sizeof(float), uint8_t(0));
    std::vector<BufferData> bd;
    for (const Buffer& b : two.buffers) bd.push_back(BufferData{bytes[size_t(b.id)].data(), b.dtype, b.shape});
    Task a;
    a.op = Op::AttnPartial;
    a.p.in = p.in, a.p.in2 = p.in2, a.p.in3 = p.in3, a.p.out = attn, a.p.head_dim = 8;
    a.p.row_begin = 0, a.p.row_end = 2, a.p.chunk = 12;
    execute_task(two, a, bd, pos);
    Task m;
    m.op = Op::NormMatvec;
    m.p.in = attn, m.p.w = p.w, m.p.residual = p.residual, m.p.out = p.out, m.p.row_begin = rb, m.p.row_end = re;
    execute_task(two, m, bd, pos);
    for (int64_t r = rb; r < re; ++r)
      EXPECT_EQ(t.get(p.out, r), reinterpret_cast<const float*>(bytes[size_t(p.out)].data())[r]) << "row " << r;
  }
}

TEST(EmulateTwins, AttnCombineTouchesExactlyItsFootprint) {
  OneTask t;
  TaskParams p;
  p.in = t.buf("part", BufferKind::Activation, BufDType::F32, {4, 3, 8});
  p.in2 = t.buf("stat", BufferKind::Activation, BufDType::F32, {4, 3, 2});
  p.out = t.buf("attn", BufferKind::Activation, BufDType::F32, {32});
  p.head_dim = 8, p.splits = 3, p.row_begin = 1, p.row_end = 3;
  std::mt19937 rng(5);
  t.prepare(Op::AttnCombine, p, 0, 3, [&](int32_t b, int64_t i) -> std::optional<float> {
    if (b != p.in2) return std::nullopt;
    const int64_t split = (i / 2) % 3;
    if (split == 2) return i % 2 == 0 ? -INFINITY : 0.f;  // an empty chunk
    return i % 2 == 0 ? float(rng() % 100) / 25.f - 2.f : 0.5f + float(rng() % 100) / 50.f;
  });
  t.run();
  t.expect_exact_footprint();
}

TEST(EmulateTwins, LmHeadArgmaxTouchesExactlyItsFootprint) {
  for (auto [lo, hi, index] : {std::tuple{5, 13, 1}, std::tuple{0, 20, 0}, std::tuple{19, 20, 2}}) {
    OneTask t;
    TaskParams p;
    p.in = t.buf("x", BufferKind::Activation, BufDType::F32, {16});
    p.norm = t.buf("g", BufferKind::Weight, BufDType::BF16, {16});
    p.w = t.buf("w", BufferKind::Weight, BufDType::BF16, {20, 16});
    p.out = t.buf("logits", BufferKind::Output, BufDType::F32, {20});
    p.out2 = t.buf("parts", BufferKind::Activation, BufDType::F32, {3, 2});
    p.row_begin = lo, p.row_end = hi, p.index = index;
    t.prepare(Op::LmHeadArgmax, p, 0, 7);
    t.run();
    t.expect_exact_footprint();
    int best = lo;
    for (int r = lo; r < hi; ++r)
      if (t.get(p.out, r) > t.get(p.out, best)) best = r;
    EXPECT_EQ(t.get(p.out2, index * 2), t.get(p.out, best));
    EXPECT_EQ(t.get(p.out2, index * 2 + 1), float(best));
  }
}

TEST(EmulateTwins, ArgmaxReduceTakesLowestIndexOnTies) {
  OneTask t;
  TaskParams p;
  p.in = t.buf("parts", BufferKind::Activation, BufDType::F32, {4, 2});
  p.out = t.buf("token", BufferKind::Output, BufDType::I32, {1});
  p.count = 4;
  const float vals[8] = {1.5f, 3, 2.5f, 17, 2.5f, 9, 0.5f, 30};
  t.prepare(Op::ArgmaxReduce, p, 0, 1, [&](int32_t b, int64_t i) -> std::optional<float> {
    if (b == p.in) return vals[i];
    return std::nullopt;
  });
  t.run();
  t.expect_exact_footprint();
  EXPECT_EQ(t.get(p.out, 0), 9.f);
}

TEST(EmulateTwins, StorageThatDoesNotMatchThePlanIsAnError) {
  OneTask t;
  TaskParams p;
  p.in = t.buf("x", BufferKind::Activation, BufDType::F32, {16});
  p.norm = t.buf("g", BufferKind::Weight, BufDType::F32, {16});
  p.out = t.buf("h", BufferKind::Activation, BufDType::F32, {16});
  p.row_begin = 0, p.row_end = 16;
  t.prepare(Op::RmsNorm, p, 0, 2);
  t.bufs[size_t(p.out)].shape = {8};
  try {
    t.run();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "task 0 (rmsnorm): operand 'out' (buffer 'h'): storage shape [8] differs from the plan's [16]");
  }
  t.bufs[size_t(p.out)].shape = {16};
  t.task.p.row_end = 17;
  EXPECT_THROW(t.run(), Error);  // footprint() refuses the rows before anything is touched
}

// ---- against independent formulas ----

std::vector<double> rms(const std::vector<double>& x, const std::vector<double>& g, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double r = 1 / std::sqrt(ss / double(x.size()) + eps);
  std::vector<double> o(x.size());
  for (size_t i = 0; i < x.size(); ++i) o[i] = x[i] * r * g[i];
  return o;
}

TEST(EmulateTwins, NormMatvecEqualsRmsNormMatvecQkNormRopeComposedByHand) {
  // K 24, N 32 (4 heads of 8), rows [8, 24): bias, qk-norm, rope at pos 5, residual.
  OneTask t(8);
  TaskParams p;
  p.in = t.buf("x", BufferKind::Activation, BufDType::F32, {24});
  p.norm = t.buf("g", BufferKind::Weight, BufDType::F32, {24});
  p.w = t.buf("w", BufferKind::Weight, BufDType::F32, {32, 24});
  p.bias = t.buf("b", BufferKind::Weight, BufDType::F32, {32});
  p.qk_norm = t.buf("qn", BufferKind::Weight, BufDType::F32, {8});
  p.rope = t.buf("rope", BufferKind::Constant, BufDType::F32, {4});
  p.residual = t.buf("res", BufferKind::Activation, BufDType::F32, {32});
  p.out = t.buf("y", BufferKind::Activation, BufDType::F32, {32});
  p.head_dim = 8, p.row_begin = 8, p.row_end = 24, p.eps = 1e-6f;
  const float inv_freq[4] = {1.f, 0.1f, 0.01f, 0.001f};
  t.prepare(Op::NormMatvec, p, 5, 33, [&](int32_t b, int64_t i) -> std::optional<float> {
    if (b == p.rope) return inv_freq[i];
    return std::nullopt;
  });
  t.run();
  auto vec = [&](int32_t b, int64_t n, int64_t off = 0) {
    std::vector<double> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out[size_t(i)] = t.get(b, off + i);
    return out;
  };
  const std::vector<double> h = rms(vec(p.in, 24), vec(p.norm, 24), 1e-6);
  for (int64_t head = 1; head < 3; ++head) {
    std::vector<double> y(8);
    for (int64_t i = 0; i < 8; ++i) {
      const int64_t r = head * 8 + i;
      double s = t.get(p.bias, r);
      for (int64_t k = 0; k < 24; ++k) s += double(t.get(p.w, r * 24 + k)) * h[size_t(k)];
      y[size_t(i)] = s;
    }
    y = rms(y, vec(p.qk_norm, 8), 1e-6);
    std::vector<double> z = y;
    for (int i = 0; i < 4; ++i) {
      const double a = 5.0 * inv_freq[i];
      z[size_t(i)] = y[size_t(i)] * std::cos(a) - y[size_t(i) + 4] * std::sin(a);
      z[size_t(i) + 4] = y[size_t(i) + 4] * std::cos(a) + y[size_t(i)] * std::sin(a);
    }
    for (int64_t i = 0; i < 8; ++i) {
      const int64_t r = head * 8 + i;
      const double want = z[size_t(i)] + t.get(p.residual, r);
      EXPECT_NEAR(t.get(p.out, r), want, 1e-5 * std::max(1.0, std::fabs(want))) << "row " << r;
    }
  }
}

TEST(EmulateTwins, SplitAttentionPlusCombineEqualsOnePassSoftmax) {
  // hq 4, hkv 2 (group 2), hd 8, context 12, 3 splits of 4; every pos, so chunks go empty.
  for (int64_t pos : {0, 3, 4, 6, 11}) {
    SCOPED_TRACE(testing::Message() << "pos " << pos);
    OneTask t(12);
    TaskParams p;
    p.in = t.buf("q", BufferKind::Activation, BufDType::F32, {32});
    p.in2 = t.buf("k", BufferKind::State, BufDType::F32, {12, 16});
    p.in3 = t.buf("v", BufferKind::State, BufDType::F32, {12, 16});
    p.out = t.buf("part", BufferKind::Activation, BufDType::F32, {4, 3, 8});
    p.out2 = t.buf("stat", BufferKind::Activation, BufDType::F32, {4, 3, 2});
    const int32_t attn = t.buf("attn", BufferKind::Activation, BufDType::F32, {32});
    p.head_dim = 8, p.splits = 3, p.chunk = 4, p.row_begin = 0, p.row_end = 2;
    std::mt19937_64 rng(uint64_t(pos) + 100);
    std::uniform_real_distribution<float> u(-2.f, 2.f);
    std::vector<float> q(32), k(12 * 16), v(12 * 16);
    for (auto* a : {&q, &k, &v})
      for (float& x : *a) x = u(rng);
    // Fill storage directly (prepare() poisons what the footprint does not read).
    t.prepare(Op::AttnPartial, p, pos, 1);
    std::memcpy(t.bufs[size_t(p.in)].data, q.data(), 32 * 4);
    std::memcpy(t.bufs[size_t(p.in2)].data, k.data(), k.size() * 4);
    std::memcpy(t.bufs[size_t(p.in3)].data, v.data(), v.size() * 4);
    for (int s = 0; s < 3; ++s) {
      t.task.p.split = s;
      t.run();
    }
    Task combine;
    combine.op = Op::AttnCombine;
    combine.p.in = p.out, combine.p.in2 = p.out2, combine.p.out = attn;
    combine.p.head_dim = 8, combine.p.splits = 3, combine.p.row_begin = 0, combine.p.row_end = 4;
    execute_task(t.plan, combine, t.bufs, pos);
    // And the one-split partial straight into attn of another plan row? One pass by hand:
    for (int h = 0; h < 4; ++h) {
      const int g = h / 2;
      std::vector<double> sc(size_t(pos + 1));
      double m = -1e300;
      for (int64_t s = 0; s <= pos; ++s) {
        double d = 0;
        for (int j = 0; j < 8; ++j) d += double(q[size_t(h * 8 + j)]) * k[size_t(s * 16 + g * 8 + j)];
        sc[size_t(s)] = d / std::sqrt(8.0);
        m = std::max(m, sc[size_t(s)]);
      }
      double l = 0;
      for (double& x : sc) l += (x = std::exp(x - m));
      for (int j = 0; j < 8; ++j) {
        double o = 0;
        for (int64_t s = 0; s <= pos; ++s) o += sc[size_t(s)] / l * v[size_t(s * 16 + g * 8 + j)];
        EXPECT_NEAR(t.get(attn, h * 8 + j), o, 1e-5 * std::max(1.0, std::fabs(o))) << "head " << h << " j " << j;
      }
    }
  }
}

TEST(EmulateTwins, BF16CacheWriteRoundsToNearestEven) {
  auto run = [](BufDType dt) {
    OneTask t(4);
    TaskParams p;
    p.in = t.buf("x", BufferKind::Activation, BufDType::F32, {24});
    p.w = t.buf("w", BufferKind::Weight, BufDType::F32, {16, 24});
    p.out = t.buf("cache", BufferKind::State, dt, {4, 16});
    p.out_at_pos = true, p.row_begin = 0, p.row_end = 16;
    t.prepare(Op::NormMatvec, p, 2, 77);
    t.run();
    std::vector<float> row;
    for (int i = 0; i < 16; ++i) row.push_back(t.get(p.out, 2 * 16 + i));
    return row;
  };
  const std::vector<float> f = run(BufDType::F32), b = run(BufDType::BF16);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(b[size_t(i)], bf16_to_f32(f32_to_bf16(f[size_t(i)]))) << i;
}

TEST(EmulateTwins, LmHeadTieGoesToTheLowestRow) {
  OneTask t;
  TaskParams p;
  p.in = t.buf("x", BufferKind::Activation, BufDType::F32, {8});
  p.norm = t.buf("g", BufferKind::Weight, BufDType::F32, {8});
  p.w = t.buf("w", BufferKind::Weight, BufDType::F32, {6, 8});
  p.out = t.buf("logits", BufferKind::Output, BufDType::F32, {6});
  p.out2 = t.buf("parts", BufferKind::Activation, BufDType::F32, {1, 2});
  p.row_begin = 0, p.row_end = 6;
  // Rows 2 and 4 are identical and large: the tie goes to row 2.
  t.prepare(Op::LmHeadArgmax, p, 0, 1, [&](int32_t b, int64_t i) -> std::optional<float> {
    if (b == p.in || b == p.norm) return 1.f;
    if (b == p.w) return (i / 8 == 2 || i / 8 == 4) ? 1.f : 0.1f * float(i % 5);
    return std::nullopt;
  });
  t.run();
  EXPECT_EQ(t.get(p.out2, 1), 2.f);
}

}  // namespace
}  // namespace tessera

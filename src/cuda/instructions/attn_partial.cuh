// attn_partial: attention of the query heads of a kv-head group over its split of the cached
// positions, attn_split(pos, split, splits) in plan.h: [(pos+1)*split/splits,
// (pos+1)*(split+1)/splits), balanced at every position. All query heads of the group at
// once, because decode attention is a chain of dependent steps (q, scores, softmax,
// weighted sum), and running the heads one after another multiplied that chain by the
// group size (docs/PERF.md): now the chain runs once per kv head, and each K and V
// element is read once for the whole group (GQA's reuse).
//  - scores: one thread per position, reading the K row with 16-byte loads (bf16 cache)
//    and forming every head's dot product from it, q broadcast from shared memory: a
//    split's positions are one round of independent loads, not a chain of warp reductions
//    per position (groups wider than the registers hold: one warp per position);
//  - softmax: one warp per head, max-subtracted, over the chunk;
//  - weighted sum: warps take positions round-robin and lanes the elements of the V row
//    (coalesced), every head of the group accumulating in registers; the warps' partial
//    sums meet in shared memory and are added in warp order (deterministic). The first
//    version gave each (head, element) one thread walking every position: one dependent
//    memory round trip per position, 0.6 us each (docs/PERF.md), which made long contexts
//    47x the floor.
// Short splits (at most kShortRows positions: every split at short contexts) take another
// path: q, the split's K rows and its V rows in one gather, one memory round trip, then
// scores, softmax and weighted sum from shared memory. The long path's chain of dependent
// round trips (q, then K, then V, each microseconds while other SMs stream weights) made
// attention ~20 us per layer at position 1 on an H200 (docs/PERF.md, fourth session).
// Scores of a split live in shared memory ([group][chunk]), then the warps' partial sums
// ([warps][group*hd]); the runtime sizes shared memory for the largest (runtime.cpp,
// work_floats). Probabilities are normalised before the weighted sum, as the CPU reference
// does.
#pragma once

#include "cuda/instructions/common.cuh"

namespace tessera::cuda {

inline constexpr int64_t kShortRows = kAttnShortRows;

// The short path. Compact on purpose: it runs once per layer on a handful of SMs, between
// long stretches of matvec code, so none of its instructions are in the instruction cache
// when it starts and every one is fetched from L2 (the kernel is ~640 KB of SASS). Phase
// timers on an H200 (docs/PERF.md, fifth session) put the first q load 2.9 us into the
// task (the next load: 0.3 us), the gather of q/K/V at 4.6 us more and two positions'
// scores, softmax and sum at 3.9 us more: instruction fetch, not memory. So: 32-bit index
// math (64-bit division is a subroutine of ~70 instructions), no per-unit segment lookup,
// loops left rolled. Shared memory: AttnShortSmem (device_plan.h), floats from the work area.
__device__ inline void attn_short(const Ctx& c, const DevBuffer& kc, const DevBuffer& vc, const float* q,
                                  int g, int h0, int lo, int n, int hd, int group, int width, float scale,
                                  float* out, float* out2) {
  const DevTask& t = c.t;
  const AttnShortSmem m = attn_short_smem(group, hd);
  float* qs = c.work + m.q;  // [group][hd]
  float* ks = c.work + m.k;  // [n][hd]
  float* vs = c.work + m.v;  // [n][hd]
  float* sc = c.work + m.s;  // [group][kShortRows]
  // One memory round trip per blockDim elements: a thread's q, K and V loads are all
  // issued before its stores.
  const int nq = group * hd, nkv = n * hd, total = nq > nkv ? nq : nkv;
  for (int i = threadIdx.x; i < total; i += blockDim.x) {
    const int r = i / hd;
    const int64_t off = int64_t(lo + r) * width + int64_t(g) * hd + (i - r * hd);
    float a = 0.f, b = 0.f, d = 0.f;
    if (i < nq) a = q[int64_t(h0) * hd + i];
    if (i < nkv) {
      b = load_rw(kc.ptr, kc.dtype, off);
      d = load_rw(vc.ptr, vc.dtype, off);
    }
    if (i < nq) qs[i] = a;
    if (i < nkv) {
      ks[i] = b;
      vs[i] = d;
    }
  }
  __syncthreads();
  mark_phase(kTraceInput);  // once per kv head of the task: the last one's stands
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  // Scores: a warp per (head, position), lanes across the head's elements.
  for (int x = warp; x < group * n; x += warps) {
    const int j = x / n, p = x - j * n;
    float d = 0.f;
    for (int i = lane; i < hd; i += 32) d += qs[j * hd + i] * ks[p * hd + i];
    d = warp_sum(d);
    if (lane == 0) sc[j * kShortRows + p] = d * scale;
  }
  __syncthreads();
  for (int j = warp; j < group; j += warps) {  // n <= 32: one lane per position
    float* sj = sc + j * kShortRows;
    const float x = lane < n ? sj[lane] : -__int_as_float(0x7f800000);
    const float mx = warp_max(x);
    const float e = lane < n ? expf(x - mx) : 0.f;
    const float sum = warp_sum(e);
    if (lane < n) sj[lane] = e / sum;
    if (out2 && lane == 0) {
      out2[((h0 + j) * t.splits + t.split) * 2] = mx;
      out2[((h0 + j) * t.splits + t.split) * 2 + 1] = sum;
    }
  }
  __syncthreads();
  for (int x = threadIdx.x; x < nq; x += blockDim.x) {
    const int j = x / hd, i = x - j * hd;
    const float* pj = sc + j * kShortRows;
    float acc = 0.f;
    for (int p = 0; p < n; ++p) acc += pj[p] * vs[p * hd + i];
    (t.splits > 1 ? out + (int64_t(h0 + j) * t.splits + t.split) * hd : out + int64_t(h0 + j) * hd)[i] = acc;
  }
  __syncthreads();  // the work area is reused by the next kv head
}

// The long path for bf16 caches, head dims whose 16-byte chunks divide a warp (hd = 8 *
// 2^k, up to 256) and up to G heads of a group at a time: one pass over the split, K and V together.
// The path below it (scores for every position into shared memory, then softmax, then the
// weighted sum) made a chain of ~13 dependent memory round trips per split: 63 us per split
// of 256 positions for the 8B shape at pos 4096 on an H200 (docs/PERF.md, sixth session),
// 73 us per layer, where the split's 128 KiB should take a few.
//  - A warp reads R = 32 / (hd / 8) rows at a time, hd / 8 lanes per row, 16 bytes a lane
//    (coalesced), U row-steps of K and V issued before any is used: a split of n positions
//    is n / (warps * R * U) round trips (2 for 1B and 4 for 8B at pos 4096).
//  - q in shared memory, read as broadcast float4s; the dot product of a row ends with
//    log2(hd / 8) shuffles inside the row's lanes.
//  - Online softmax (running max, sum and weighted sum, rescaled when the max grows) per
//    row lane group, so the loop never waits on another lane; the row groups of a warp
//    then merge by shuffles and the warps through shared memory, in warp order
//    (deterministic). Output as the other paths: normalised sum, and the split's (max, sum).
// Shared memory (work area): q [group][hd], [warps][group][2] stats, then [warps][group][hd]
// sums; the runtime's work_floats() covers it (it sizes for the path below, which needs more).
template <int G, int U>
__device__ inline void attn_long(const Ctx& c, const uint16_t* kc, const uint16_t* vc, const float* q, int g,
                                 int h0, int lo, int n, int hd, int group, int width, float scale, float* out,
                                 float* out2) {
  const DevTask& t = c.t;
  const float kNegInf = -__int_as_float(0x7f800000);
  const int tid = int(threadIdx.x), ntid = int(blockDim.x);
  const int lane = tid & 31, warp = tid >> 5, warps = ntid >> 5;
  const int L = hd >> 3, R = 32 / L;  // lanes per row, rows per warp step
  const int r = lane / L, col = (lane - r * L) * 8;
  float* qs = c.work;                                          // [group][hd]
  float* st = qs + (group * hd + 3) / 4 * 4;                   // [warps][group][2]
  float* sums = st + (warps * group * 2 + 3) / 4 * 4;          // [warps][group][hd]
  for (int i = tid; i < group * hd; i += ntid) qs[i] = q[h0 * hd + i];
  float acc[G][8], m[G], l[G];
#pragma unroll
  for (int j = 0; j < G; ++j) {
    m[j] = kNegInf;
    l[j] = 0.f;
#pragma unroll
    for (int e = 0; e < 8; ++e) acc[j][e] = 0.f;
  }
  __syncthreads();
  const int stride = warps * R;  // positions per row step of the whole block
  for (int k0 = 0; k0 + warp * R < n; k0 += U * stride) {  // warp-uniform: shuffles inside
    uint4 kv[U], vv[U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int p = k0 + u * stride + warp * R + r;
      kv[u] = vv[u] = make_uint4(0u, 0u, 0u, 0u);
      if (p < n) {
        // 16-byte aligned: width, g * hd and col are multiples of 8 elements.
        const int64_t off = (int64_t(lo + p) * width + g * hd + col) >> 3;
        kv[u] = __ldcg(reinterpret_cast<const uint4*>(kc) + off);
        vv[u] = __ldcg(reinterpret_cast<const uint4*>(vc) + off);
      }
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      // One row step: every head's dot product, their reductions interleaved (a fixed
      // count of shuffles, the unneeded ones skipped by a warp-uniform test: a loop with
      // a run-time count compiled to one branchy chain per head, 2 us per 32 KiB, more
      // than the loads took), then each head's online update, branch-free.
      float kf[8], vf[8], d[G];
      unpack_bf16x8(kv[u], kf);
#pragma unroll
      for (int j = 0; j < G; ++j) {
        // q from shared memory (registers for it spilled): lanes of one column broadcast.
        const float4 qa = *reinterpret_cast<const float4*>(qs + j * hd + col);
        const float4 qb = *reinterpret_cast<const float4*>(qs + j * hd + col + 4);
        d[j] = j < group ? qa.x * kf[0] + qa.y * kf[1] + qa.z * kf[2] + qa.w * kf[3] + qb.x * kf[4] + qb.y * kf[5] +
                               qb.z * kf[6] + qb.w * kf[7]
                         : 0.f;
      }
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) {
        if (o >= L) continue;  // uniform
#pragma unroll
        for (int j = 0; j < G; ++j) d[j] += __shfl_xor_sync(0xffffffffu, d[j], o);
      }
      unpack_bf16x8(vv[u], vf);
      const bool valid = k0 + u * stride + warp * R + r < n;
#pragma unroll
      for (int j = 0; j < G; ++j) {
        if (j >= group) break;
        const float x = d[j] * scale, mx = valid ? fmaxf(m[j], x) : m[j];
        const float corr = valid ? expf(m[j] - mx) : 1.f;  // 0 while m is -inf
        const float pr = valid ? expf(x - mx) : 0.f;
        l[j] = l[j] * corr + pr;
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[j][e] = acc[j][e] * corr + pr * vf[e];
        m[j] = mx;
      }
    }
  }
  // Merge the row groups of the warp: lanes with the same columns, L, 2L, ... apart.
  for (int o = L; o < 32; o <<= 1) {
#pragma unroll
    for (int j = 0; j < G; ++j) {
      if (j >= group) break;
      const float mo = __shfl_xor_sync(0xffffffffu, m[j], o), lo2 = __shfl_xor_sync(0xffffffffu, l[j], o);
      const float mm = fmaxf(m[j], mo);
      const float a = mm == kNegInf ? 0.f : expf(m[j] - mm), b = mm == kNegInf ? 0.f : expf(mo - mm);
      l[j] = l[j] * a + lo2 * b;
#pragma unroll
      for (int e = 0; e < 8; ++e) acc[j][e] = acc[j][e] * a + __shfl_xor_sync(0xffffffffu, acc[j][e], o) * b;
      m[j] = mm;
    }
  }
  if (r == 0) {
#pragma unroll
    for (int j = 0; j < G; ++j) {
      if (j >= group) break;
      if (col == 0) {
        st[(warp * group + j) * 2] = m[j];
        st[(warp * group + j) * 2 + 1] = l[j];
      }
#pragma unroll
      for (int e = 0; e < 8; ++e) sums[(warp * group + j) * hd + col + e] = acc[j][e];
    }
  }
  __syncthreads();
  for (int k = tid; k < group * hd; k += ntid) {
    const int j = k / hd, i = k - j * hd;
    float mm = kNegInf;
    for (int w = 0; w < warps; ++w) mm = fmaxf(mm, st[(w * group + j) * 2]);
    float sum = 0.f, v = 0.f;
    for (int w = 0; w < warps; ++w) {
      const float mw = st[(w * group + j) * 2];
      const float a = mw == kNegInf ? 0.f : expf(mw - mm);
      sum += st[(w * group + j) * 2 + 1] * a;
      v += sums[(w * group + j) * hd + i] * a;
    }
    const int hh = h0 + j;
    (t.splits > 1 ? out + (int64_t(hh) * t.splits + t.split) * hd : out + int64_t(hh) * hd)[i] = v / sum;
    if (out2 && i == 0) {
      out2[(hh * t.splits + t.split) * 2] = mm;
      out2[(hh * t.splits + t.split) * 2 + 1] = sum;
    }
  }
  __syncthreads();  // the work area is reused by the next kv head
}

__device__ inline void run_attn_partial(const Ctx& c) {
  const DevTask& t = c.t;
  const DevBuffer& qb = c.buf(t.in);
  const DevBuffer& kc = c.buf(t.in2);
  const DevBuffer& vc = c.buf(t.in3);
  // 32-bit division where the values allow it (the validator bounds head and cache
  // widths; positions times splits fit easily): 64-bit division is a long subroutine, and
  // this prologue runs cold (see attn_short).
  const int hd32 = t.head_dim, width32 = int(kc.shape[1]);
  const int64_t hd = hd32, width = width32;
  const int64_t hkv = width32 / hd32, hq = int(qb.shape[0]) / hd32, group = int(hq) / int(hkv);
  const int64_t p1 = c.a.pos + 1;
  const bool narrow = p1 * (t.split + 1) <= 0x7fffffff;
  const int64_t lo = narrow ? int(p1 * t.split) / t.splits : p1 * t.split / t.splits;  // attn_split (plan.h)
  const int64_t hi = narrow ? int(p1 * (t.split + 1)) / t.splits : p1 * (t.split + 1) / t.splits;
  const int64_t n = hi > lo ? hi - lo : 0;
  const float scale = 1.f / sqrtf(float(hd));
  const float* q = static_cast<const float*>(qb.ptr);
  float* out = static_cast<float*>(c.buf(t.out).ptr);
  float* out2 = t.splits > 1 ? static_cast<float*>(c.buf(t.out2).ptr) : nullptr;
  float* qs = c.work;                                  // [group][hd]
  float* sc = qs + ((group * hd + 3) / 4) * 4;         // [group][chunk]
  float* stat = sc + group * int64_t(t.chunk);         // [group][2]: max, sum
  float* part = stat + ((2 * group + 3) / 4) * 4;      // [warps][group*hd]: partial sums
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  constexpr int kMaxGroup = 8, kMaxPerLane = 4;  // register arrays: heads per group, elements per lane
  // Destination of head hh's element i: the final output or its slot among the splits.
  // attn_long's conditions (above): bf16 caches, hd / 8 lanes dividing a warp.
  const bool long_bf16 = kc.dtype == kBF16 && vc.dtype == kBF16 && hd32 >= 8 && hd32 % 8 == 0 && hd32 <= 256 &&
                         (32 % (hd32 / 8)) == 0;
  auto dst = [&](int64_t hh) { return t.splits > 1 ? out + (hh * t.splits + t.split) * hd : out + hh * hd; };

  for (int64_t g = t.row_begin; g < t.row_end; ++g) {
    const int64_t h0 = g * group;
    if (n == 0) {
      for (int64_t k = threadIdx.x; k < group * hd; k += blockDim.x) dst(h0 + k / hd)[k % hd] = 0.f;
      if (out2)
        for (int64_t j = threadIdx.x; j < group; j += blockDim.x) {
          out2[((h0 + j) * t.splits + t.split) * 2] = -__int_as_float(0x7f800000);
          out2[((h0 + j) * t.splits + t.split) * 2 + 1] = 0.f;
        }
      continue;
    }
    if (n <= kShortRows) {
      attn_short(c, kc, vc, q, int(g), int(h0), int(lo), int(n), int(hd), int(group), int(width), scale, out, out2);
      continue;
    }
    if (long_bf16) {
      // Groups wider than 4 heads (Qwen2.5-0.5B: 7) in passes of up to 4: registers for
      // more heads spill, and a second pass reads K and V again, mostly from L2.
      for (int hb = 0; hb < int(group); hb += 4)
        attn_long<4, 4>(c, static_cast<const uint16_t*>(kc.ptr), static_cast<const uint16_t*>(vc.ptr), q, int(g),
                        int(h0) + hb, int(lo), int(n), hd32, min(4, int(group) - hb), width32, scale, out, out2);
      continue;
    }
    for (int64_t k = threadIdx.x; k < group * hd; k += blockDim.x) qs[k] = q[h0 * hd + k];
    __syncthreads();
    if (group <= kMaxGroup) {
      const bool vec = kc.dtype == kBF16 && hd % 8 == 0;
      for (int64_t s = threadIdx.x; s < n; s += blockDim.x) {
        const int64_t row = (lo + s) * width + g * hd;
        float d[kMaxGroup];
#pragma unroll
        for (int j = 0; j < kMaxGroup; ++j) d[j] = 0.f;
        if (vec) {
          // 16-byte aligned: width and g*hd are multiples of 8 elements (hd % 8 == 0).
          const uint4* kr = reinterpret_cast<const uint4*>(static_cast<const uint16_t*>(kc.ptr) + row);
#pragma unroll 4
          for (int64_t i8 = 0; i8 < hd / 8; ++i8) {
            float kf[8];
            unpack_bf16x8(kr[i8], kf);
#pragma unroll
            for (int j = 0; j < kMaxGroup; ++j) {
              if (j >= group) break;
#pragma unroll
              for (int e = 0; e < 8; ++e) d[j] += qs[j * hd + i8 * 8 + e] * kf[e];
            }
          }
        } else {
          for (int64_t i = 0; i < hd; ++i) {
            const float kf = load_rw(kc.ptr, kc.dtype, row + i);
#pragma unroll
            for (int j = 0; j < kMaxGroup; ++j) {
              if (j >= group) break;
              d[j] += qs[j * hd + i] * kf;
            }
          }
        }
#pragma unroll
        for (int j = 0; j < kMaxGroup; ++j) {
          if (j >= group) break;
          sc[j * t.chunk + s] = d[j] * scale;
        }
      }
    } else {
      for (int64_t s = warp; s < n; s += warps) {
        const int64_t row = (lo + s) * width + g * hd;
        for (int64_t j = 0; j < group; ++j) {
          float d = 0.f;
          for (int64_t i = lane; i < hd; i += 32) d += qs[j * hd + i] * load_rw(kc.ptr, kc.dtype, row + i);
          d = warp_sum(d);
          if (lane == 0) sc[j * t.chunk + s] = d * scale;
        }
      }
    }
    __syncthreads();
    for (int64_t j = warp; j < group; j += warps) {
      float* sj = sc + j * t.chunk;
      float m = -__int_as_float(0x7f800000);
      for (int64_t s = lane; s < n; s += 32) m = fmaxf(m, sj[s]);
      m = warp_max(m);
      float sum = 0.f;
      for (int64_t s = lane; s < n; s += 32) {
        const float e = expf(sj[s] - m);
        sj[s] = e;
        sum += e;
      }
      sum = warp_sum(sum);
      for (int64_t s = lane; s < n; s += 32) sj[s] = sj[s] / sum;
      if (lane == 0) {
        stat[j * 2] = m;
        stat[j * 2 + 1] = sum;
      }
    }
    __syncthreads();
    // Registers per lane: kMaxGroup heads x kMaxPerLane elements (hd <= 128). Constant loop
    // bounds with runtime guards keep the arrays in registers. A warp takes kRows
    // consecutive positions at a time and issues all their V loads before using any.
    constexpr int kRows = 4;
    const int64_t per_lane = (hd + 31) / 32;
    if (group <= kMaxGroup && per_lane <= kMaxPerLane) {
      float acc[kMaxGroup * kMaxPerLane];
#pragma unroll
      for (int k = 0; k < kMaxGroup * kMaxPerLane; ++k) acc[k] = 0.f;
      for (int64_t s0 = int64_t(warp) * kRows; s0 < n; s0 += int64_t(warps) * kRows) {
        float v[kRows][kMaxPerLane];
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
          const int64_t row = (lo + s0 + r) * width + g * hd;
#pragma unroll
          for (int e = 0; e < kMaxPerLane; ++e) {
            const int64_t i = lane + 32 * e;
            v[r][e] = (s0 + r < n && e < per_lane && i < hd) ? load_rw(vc.ptr, vc.dtype, row + i) : 0.f;
          }
        }
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
          if (s0 + r >= n) break;
#pragma unroll
          for (int j = 0; j < kMaxGroup; ++j) {
            if (j >= group) break;
            const float pj = sc[j * t.chunk + s0 + r];
#pragma unroll
            for (int e = 0; e < kMaxPerLane; ++e) acc[j * kMaxPerLane + e] += pj * v[r][e];
          }
        }
      }
      float* mine = part + warp * group * hd;
#pragma unroll
      for (int j = 0; j < kMaxGroup; ++j) {
        if (j >= group) break;
#pragma unroll
        for (int e = 0; e < kMaxPerLane; ++e) {
          const int64_t i = lane + 32 * e;
          if (e < per_lane && i < hd) mine[j * hd + i] = acc[j * kMaxPerLane + e];
        }
      }
      __syncthreads();
      for (int64_t k = threadIdx.x; k < group * hd; k += blockDim.x) {
        float total = 0.f;
        for (int w = 0; w < warps; ++w) total += part[w * group * hd + k];
        dst(h0 + k / hd)[k % hd] = total;
      }
    } else {  // groups wider than the registers hold: one thread per (head, element)
      for (int64_t k = threadIdx.x; k < group * hd; k += blockDim.x) {
        const int64_t j = k / hd, i = k % hd;
        const float* sj = sc + j * t.chunk;
        float acc = 0.f;
        for (int64_t s = 0; s < n; ++s) acc += sj[s] * load_rw(vc.ptr, vc.dtype, (lo + s) * width + g * hd + i);
        dst(h0 + j)[i] = acc;
      }
    }
    if (out2)
      for (int64_t j = threadIdx.x; j < group; j += blockDim.x) {
        out2[((h0 + j) * t.splits + t.split) * 2] = stat[j * 2];
        out2[((h0 + j) * t.splits + t.split) * 2 + 1] = stat[j * 2 + 1];
      }
    __syncthreads();  // qs, sc and stat are reused by the next kv head
  }
}

}  // namespace tessera::cuda

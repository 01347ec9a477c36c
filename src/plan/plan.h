// The plan (schedule IR): the one thing every backend consumes. A plan says HOW one decode
// step runs (which tile each persistent block computes, in what order, waiting on which
// counters) while the op graph says WHAT is computed. docs/SCHEDULE_IR.md is the precise
// specification; this header is its C++ form.
//
// Plans are plain data: a backend, the validator, the emulator and the search all read the
// same structures, and JSON (plan_json.h) round-trips them exactly.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/rope_pairs.h"

namespace tessera {

// Major.minor of the plan format this build writes and reads. A plan whose major version is
// newer is refused; a newer minor version is read (unknown fields are ignored).
inline constexpr int kPlanVersionMajor = 1;
inline constexpr int kPlanVersionMinor = 0;

enum class BufferKind : uint8_t {
  Weight,      // model weight, read-only, initialised before the step
  Constant,    // host-computed constant (e.g. RoPE inverse frequencies), read-only, initialised
  Input,       // per-step input written by the host (the token id), initialised
  State,       // persistent across steps (KV cache): rows [0, pos) of dim 0 are initialised at
               // step entry, rows >= pos are not
  Activation,  // scratch of this step, uninitialised at step entry
  Output,      // result of this step (logits, next token); every element must be written
};

enum class BufDType : uint8_t { F32, BF16, I32 };

struct Buffer {
  int32_t id = 0;
  std::string name;  // unique, e.g. "x.3", "k_cache.3", "w:model.layers.3.mlp.up_proj.weight"
  BufferKind kind = BufferKind::Activation;
  BufDType dtype = BufDType::F32;
  std::vector<int64_t> shape;  // row-major
  std::string weight;          // Weight: canonical model weight name; Constant: what it holds
  bool operator==(const Buffer&) const = default;
};

// c + pos * (position of the token this step processes). pos_coeff is 0 or 1.
struct Affine {
  int64_t c = 0;
  int64_t pos = 0;
  int64_t eval(int64_t p) const { return c + pos * p; }
  bool operator==(const Affine&) const = default;
};

// Half-open index interval [lo(p), min(hi(p), cap)) of one dimension. Empty when
// lo >= min(hi, cap). cap bounds position-dependent ranges by the buffer's extent (the
// KV rows [0, min(p+1, context)) attention reads).
struct Interval {
  Affine lo;
  Affine hi;
  int64_t cap = std::numeric_limits<int64_t>::max();
  int64_t lo_at(int64_t p) const { return lo.eval(p); }
  int64_t hi_at(int64_t p) const { int64_t h = hi.eval(p); return h < cap ? h : cap; }
  bool operator==(const Interval&) const = default;
};

// A box in one buffer: one Interval per dimension of the buffer.
struct Region {
  int32_t buf = 0;
  std::vector<Interval> dims;
  bool operator==(const Region&) const = default;
};

enum class Op : uint8_t {
  Embed,         // out[c] = table[token][c]                       (cols [row_begin,row_end))
  RmsNorm,       // out[r] = in[r] * rsqrt(mean(in^2)+eps) * norm[r] (rows [row_begin,row_end))
  NormMatvec,    // fused [rmsnorm] -> W rows -> [bias] [silu*W2] [qk-norm] [rope] [+residual] -> out[ (at pos) ]
  AttnPartial,   // attention of a kv-head group over its split of the positions (split-KV) -> partials or final
  AttnCombine,   // merge split-KV partials -> attention output
  LmHeadArgmax,  // rmsnorm -> LM head rows -> logits tile + (max, argmax) partial
  ArgmaxReduce,  // partials -> next token id
  // Attention of every query head over positions [0, pos] -> W rows -> [+residual] -> out:
  // attention folded into the o projection's prologue at short contexts, so a layer has
  // one dependent stage fewer (plan/attn_fold.h).
  AttnMatvec,
};
inline constexpr int kNumOps = 8;

// Operands of a task. Buffer fields hold a buffer id or -1 (absent). Which fields an
// opcode uses, and with what shapes, is specified per opcode in docs/SCHEDULE_IR.md and
// implemented once in footprint.cpp. A flat POD so backends can upload it as is.
struct TaskParams {
  int32_t in = -1, in2 = -1, in3 = -1;  // activations / caches read
  int32_t norm = -1;                    // RMSNorm weight of the input (prologue)
  int32_t w = -1, w2 = -1;              // weight matrices [rows, cols]
  int32_t bias = -1;                    // bias [rows]
  int32_t qk_norm = -1;                 // per-head RMSNorm weight [head_dim]
  int32_t rope = -1;                    // RoPE inverse frequencies [head_dim/2] (Constant)
  int32_t residual = -1;                // residual added to the result [rows]
  int32_t out = -1, out2 = -1;          // results
  int64_t row_begin = 0, row_end = 0;   // this tile's output rows / heads / columns
  int32_t head_dim = 0;
  // split-KV: this split, how many, and the most positions one split covers at any pos
  // (ceil(context / splits): it sizes the GPU's score buffer). Which positions: attn_split.
  int32_t split = 0, splits = 1, chunk = 0;
  int32_t index = 0, count = 0;              // argmax partial slot / number of partials
  bool out_at_pos = false;                   // write row `pos` of a [ctx, rows] State buffer
  // NormMatvec with rope: the task owns the rotation pairs whose first rows (first half of a
  // head) lie in [row_begin, row_end), which may span heads, and computes both rows of each
  // pair (a rotation needs both), so q/k rows can be cut into tasks of any size
  // (plan/rope_pairs.h, matvec_task_rows).
  bool rope_pairs = false;
  // A hint: before waiting on its counters the block asks L2 for up to this many bytes of
  // the task's weight rows (shared evenly by its matrices), so they move while the memory system
  // would otherwise idle (o-proj tiles during attention). Weights are read-only for the
  // launch, so it never changes a result. 0: none.
  int64_t l2_prefetch = 0;
  float eps = 1e-5f;
  bool operator==(const TaskParams&) const = default;
};

// The output rows of a NormMatvec task: [row_begin, row_end), or with rope_pairs the
// first rows of its rotation pairs and their partners (plan/rope_pairs.h), numbered in
// that order inside the task, which is how the CPU twin and the GPU instruction stage them.
struct TaskRows {
  int64_t begin = 0, end = 0;
  bool paired = false;
  RopePairRows<int64_t> pairs{};
  int64_t rows() const { return paired ? pairs.rows() : end - begin; }
  // The output row of the task's k-th row.
  int64_t row(int64_t k) const { return paired ? pairs.row(k) : begin + k; }
  // The rows as ranges [b, e): contiguous, or per head its pairs' first rows, then their partners.
  std::vector<std::pair<int64_t, int64_t>> ranges() const {
    if (!paired) return {{begin, end}};
    std::vector<std::pair<int64_t, int64_t>> r;
    for (int64_t k = 0; k < pairs.count;) {
      const int64_t first = pairs.row(k), n = std::min(pairs.half - first % pairs.hd, pairs.count - k);
      r.emplace_back(first, first + n);
      r.emplace_back(first + pairs.half, first + pairs.half + n);
      k += n;
    }
    return r;
  }
};
inline TaskRows matvec_task_rows(const TaskParams& p) {
  TaskRows s;
  s.begin = p.row_begin;
  s.end = p.row_end;
  if (p.rope_pairs && p.head_dim >= 2) {
    s.paired = true;
    s.pairs = rope_pair_rows<int64_t>(p.row_begin, p.row_end, p.head_dim);
  }
  return s;
}

struct Wait {
  int32_t counter = 0;
  int64_t threshold = 0;  // satisfied when value >= step * per_step_total(counter) + threshold
  bool operator==(const Wait&) const = default;
};

struct Signal {
  int32_t counter = 0;
  int64_t inc = 1;  // added after the task's writes are visible to every block
  bool operator==(const Signal&) const = default;
};

struct Task {
  int32_t id = 0;  // == index in Plan::tasks
  Op op = Op::NormMatvec;
  int32_t sm = 0;  // the block (queue) that runs it
  TaskParams p;
  std::vector<Region> reads, writes;  // exactly what the opcode touches (footprint.h)
  std::vector<Wait> waits;
  std::vector<Signal> signals;
  bool operator==(const Task&) const = default;
};

struct Counter {
  int32_t id = 0;
  std::string name;  // e.g. "l3.qkv.g1" (names what it protects)
  bool operator==(const Counter&) const = default;
};

struct Target {
  std::string arch = "sm_90a";           // sm_80, sm_86, sm_89, sm_90a, sm_100a, sm_120
  int32_t sms = 132;                      // streaming multiprocessors
  int32_t max_blocks_per_sm = 1;          // co-resident persistent blocks per SM
  int64_t smem_per_block = 227 * 1024;    // dynamic shared memory a block may use, bytes
  int32_t regs_per_thread = 255;
  int32_t threads_per_block = 1024;       // the most a block may have
  bool operator==(const Target&) const = default;
};

// Per-block resources the plan's instruction variants need (checked against Target).
struct Resources {
  int64_t smem_bytes = 0;
  int32_t threads = 256;
  int32_t regs_per_thread = 128;
  // Weight rows a warp of the matvec streams together (1 or 2): an instruction variant
  // the plan chooses (cuda/instructions/matvec_row.cuh, matvec_tile). Absent from plans
  // written before it was a knob: 2, the value those plans ran with.
  int32_t rows_per_warp = 2;
  bool operator==(const Resources&) const = default;
};

struct Plan {
  std::string model;          // a label: shape name or model path
  int32_t context = 0;        // positions the State buffers hold (pos < context)
  Target target;
  Resources resources;
  nlohmann::json config = nlohmann::json::object();  // the knobs that produced it
  std::vector<Buffer> buffers;
  std::vector<Counter> counters;
  std::vector<Task> tasks;
  std::vector<std::vector<int32_t>> queues;  // queues[b] = task ids block b runs, in order
  // Buffers the step's results live in (logits, token); each must be fully written.
  std::vector<int32_t> outputs;
  int32_t token_input = -1;  // the Input buffer holding this step's token id
  int32_t token_output = -1; // the Output buffer receiving the next token id

  bool operator==(const Plan&) const = default;
};

// The positions [begin, end) split `split` of `splits` attends over at `pos`: the first pos+1
// positions cut into `splits` near-equal runs. Balanced at every position (not fixed chunks
// of the context), so a short context still spreads over every split and a long one over
// all of them evenly; each run has at most ceil((pos+1)/splits) <= chunk positions. The GPU
// kernel (instructions/attn_partial.cuh) computes the same two numbers.
struct PosRange {
  int64_t begin, end;
};
inline PosRange attn_split(int64_t pos, int64_t split, int64_t splits) {
  return {(pos + 1) * split / splits, (pos + 1) * (split + 1) / splits};
}

std::string op_name(Op op);                    // "norm_matvec", ...
bool parse_op_name(const std::string& s, Op* op);
std::string buffer_kind_name(BufferKind k);    // "weight", ...
std::string buf_dtype_name(BufDType t);        // "f32", "bf16", "i32"
int64_t buf_dtype_size(BufDType t);

// Sum of all signal increments on each counter in one step (index = counter id). A wait's
// threshold at step t is t * per_step_total[c] + threshold: counters are never reset.
std::vector<int64_t> per_step_totals(const Plan& plan);

}  // namespace tessera

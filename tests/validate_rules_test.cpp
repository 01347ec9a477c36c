// The validator's rules, one negative test per diagnostic with its exact message (as MLIR
// tests its verifier), against a tiny hand-built decode step that the validator accepts:
// embed -> q/k/v (k, v appended to the caches at pos) -> attention -> o projection with
// residual -> LM head tiles with argmax partials -> argmax. Plans are built directly as
// structs (the lowering lives elsewhere); regions are filled from footprint() as the
// lowering does, and each test breaks one thing.
#include <gtest/gtest.h>

#include <functional>

#include "plan/footprint.h"
#include "validate/validate.h"

using namespace tessera;

namespace {

// Buffer ids of the baseline plan.
enum B : int32_t {
  kToken, kWEmbed, kX, kWAttnNorm, kWq, kWk, kWv, kRope, kQ, kKCache, kVCache, kAttn, kWo, kX2,
  kWFinalNorm, kWLm, kLogits, kParts, kNextToken, kNumBuffers
};
// Counter ids.
enum C : int32_t { cEmbed, cQkv, cAttn, cO, cLm };

constexpr int64_t kD = 8, kV = 16, kHd = 4, kCtx = 8;

struct Builder {
  Plan plan;

  int32_t buffer(const std::string& name, BufferKind kind, std::vector<int64_t> shape,
                 BufDType dtype = BufDType::F32) {
    Buffer b;
    b.id = int32_t(plan.buffers.size());
    b.name = name;
    b.kind = kind;
    b.dtype = dtype;
    b.shape = std::move(shape);
    plan.buffers.push_back(b);
    return b.id;
  }
  int32_t counter(const std::string& name) {
    plan.counters.push_back({int32_t(plan.counters.size()), name});
    return plan.counters.back().id;
  }
  Task& task(Op op, int32_t block, std::function<void(TaskParams&)> params, std::vector<Wait> waits,
             std::vector<Signal> signals) {
    Task t;
    t.id = int32_t(plan.tasks.size());
    t.op = op;
    t.sm = block;
    params(t.p);
    t.waits = std::move(waits);
    t.signals = std::move(signals);
    plan.tasks.push_back(t);
    if (plan.queues.size() <= size_t(block)) plan.queues.resize(size_t(block) + 1);
    plan.queues[size_t(block)].push_back(t.id);
    return plan.tasks.back();
  }
  // Declared regions from the opcode, as the lowering fills them.
  void fill() {
    for (Task& t : plan.tasks) {
      Footprint f = footprint(plan, t);
      t.reads = f.reads;
      t.writes = f.writes;
    }
  }
};

Plan baseline() {
  Builder b;
  Plan& p = b.plan;
  p.model = "tiny";
  p.context = kCtx;
  b.buffer("token", BufferKind::Input, {1}, BufDType::I32);
  b.buffer("w:embed", BufferKind::Weight, {kV, kD});
  b.buffer("x", BufferKind::Activation, {kD});
  b.buffer("w:attn_norm", BufferKind::Weight, {kD});
  b.buffer("w:q", BufferKind::Weight, {kD, kD});
  b.buffer("w:k", BufferKind::Weight, {kHd, kD});
  b.buffer("w:v", BufferKind::Weight, {kHd, kD});
  b.buffer("rope_inv_freq", BufferKind::Constant, {kHd / 2});
  b.buffer("q", BufferKind::Activation, {kD});
  b.buffer("k_cache", BufferKind::State, {kCtx, kHd}, BufDType::BF16);
  b.buffer("v_cache", BufferKind::State, {kCtx, kHd}, BufDType::BF16);
  b.buffer("attn", BufferKind::Activation, {kD});
  b.buffer("w:o", BufferKind::Weight, {kD, kD});
  b.buffer("x2", BufferKind::Activation, {kD});
  b.buffer("w:final_norm", BufferKind::Weight, {kD});
  b.buffer("w:lm", BufferKind::Weight, {kV, kD});
  b.buffer("logits", BufferKind::Output, {kV});
  b.buffer("parts", BufferKind::Activation, {2, 2});
  b.buffer("next_token", BufferKind::Output, {1}, BufDType::I32);
  p.token_input = kToken;
  p.token_output = kNextToken;
  p.outputs = {kLogits, kNextToken};
  for (const char* c : {"embed", "qkv", "attn", "o", "lm"}) b.counter(c);

  auto rows = [](TaskParams& t, int64_t lo, int64_t hi) {
    t.row_begin = lo;
    t.row_end = hi;
  };
  // 0: embed (block 0)
  b.task(Op::Embed, 0, [&](TaskParams& t) { t.in = kToken; t.w = kWEmbed; t.out = kX; rows(t, 0, kD); },
         {}, {{cEmbed, 1}});
  // 1: q with RoPE (block 0)
  b.task(Op::NormMatvec, 0, [&](TaskParams& t) {
    t.in = kX; t.norm = kWAttnNorm; t.w = kWq; t.rope = kRope; t.head_dim = kHd; t.out = kQ; rows(t, 0, kD);
  }, {{cEmbed, 1}}, {{cQkv, 1}});
  // 2: k with RoPE, appended at pos (block 1)
  b.task(Op::NormMatvec, 1, [&](TaskParams& t) {
    t.in = kX; t.norm = kWAttnNorm; t.w = kWk; t.rope = kRope; t.head_dim = kHd; t.out = kKCache;
    t.out_at_pos = true; rows(t, 0, kHd);
  }, {{cEmbed, 1}}, {{cQkv, 1}});
  // 3: v appended at pos (block 1)
  b.task(Op::NormMatvec, 1, [&](TaskParams& t) {
    t.in = kX; t.norm = kWAttnNorm; t.w = kWv; t.out = kVCache; t.out_at_pos = true; rows(t, 0, kHd);
  }, {{cEmbed, 1}}, {{cQkv, 1}});
  // 4: attention, one kv head, two query heads (block 0)
  b.task(Op::AttnPartial, 0, [&](TaskParams& t) {
    t.in = kQ; t.in2 = kKCache; t.in3 = kVCache; t.head_dim = kHd; t.chunk = kCtx; t.out = kAttn; rows(t, 0, 1);
  }, {{cQkv, 3}}, {{cAttn, 1}});
  // 5: o projection + residual (block 1)
  b.task(Op::NormMatvec, 1, [&](TaskParams& t) {
    t.in = kAttn; t.w = kWo; t.residual = kX; t.out = kX2; rows(t, 0, kD);
  }, {{cAttn, 1}}, {{cO, 1}});
  // 6, 7: LM head tiles (blocks 0, 1)
  for (int i = 0; i < 2; ++i)
    b.task(Op::LmHeadArgmax, i, [&](TaskParams& t) {
      t.in = kX2; t.norm = kWFinalNorm; t.w = kWLm; t.out = kLogits; t.out2 = kParts; t.index = i;
      rows(t, i * kV / 2, (i + 1) * kV / 2);
    }, {{cO, 1}}, {{cLm, 1}});
  // 8: argmax (block 0)
  b.task(Op::ArgmaxReduce, 0, [&](TaskParams& t) { t.in = kParts; t.count = 2; t.out = kNextToken; },
         {{cLm, 2}}, {});
  b.fill();
  return p;
}

// Re-derives declared regions after a test changed parameters.
void refill(Plan& p) {
  for (Task& t : p.tasks) {
    Footprint f = footprint(p, t);
    t.reads = f.reads;
    t.writes = f.writes;
  }
}

// The text of the first diagnostic ("rule: message"), or "accepted".
std::string first(const Plan& p) {
  ValidationReport r = validate_plan(p);
  if (r.ok()) return "accepted";
  return r.errors[0].rule + ": " + r.errors[0].message;
}

bool has_rule(const ValidationReport& r, const std::string& rule) {
  for (const Diagnostic& d : r.errors)
    if (d.rule == rule) return true;
  return false;
}

}  // namespace

TEST(ValidateRules, BaselineIsAccepted) {
  Plan p = baseline();
  ValidationReport r = validate_plan(p);
  EXPECT_TRUE(r.ok()) << r.to_text();
  EXPECT_EQ(r.tasks, 9u);
  EXPECT_EQ(r.blocks, 2u);
  EXPECT_EQ(r.counters, 5u);
  EXPECT_EQ(r.buffers, size_t(kNumBuffers));
  EXPECT_EQ(r.to_text().rfind("accepted: 9 tasks, 2 blocks, 5 counters, 19 buffers, checked in ", 0), 0u)
      << r.to_text();
  nlohmann::json j = r.to_json();
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["errors"].size(), 0u);
}

// --- structure ---

TEST(ValidateRules, TaskOnMissingBlock) {
  Plan p = baseline();
  p.tasks[4].sm = 5;
  ValidationReport r = validate_plan(p);
  ASSERT_EQ(r.errors.size(), 2u) << r.to_text();
  EXPECT_EQ(r.errors[0].message, "task 4: sm 5 is not a block (the plan has 2 queues)");
  EXPECT_EQ(r.errors[1].message, "task 4 is in queue 0 but its sm is 5");
}

TEST(ValidateRules, WaitOnMissingCounter) {
  Plan p = baseline();
  p.tasks[1].waits[0].counter = 9;
  EXPECT_EQ(first(p), "structure: task 1 (block 0, norm_matvec): waits[0] names counter 9 (the plan has 5 counters)");
}

TEST(ValidateRules, SignalOnMissingCounterAndZeroIncrement) {
  Plan p = baseline();
  p.tasks[1].signals[0].counter = -1;
  p.tasks[2].signals[0].inc = 0;
  ValidationReport r = validate_plan(p);
  ASSERT_EQ(r.errors.size(), 2u) << r.to_text();
  EXPECT_EQ(r.errors[0].message, "task 1 (block 0, norm_matvec): signals[0] names counter -1 (the plan has 5 counters)");
  EXPECT_EQ(r.errors[1].message,
            "task 2 (block 1, norm_matvec): signals[0] on counter 'qkv' has increment 0 (must be at least 1)");
}

TEST(ValidateRules, ZeroThreshold) {
  Plan p = baseline();
  p.tasks[8].waits[0].threshold = 0;
  EXPECT_EQ(first(p),
            "structure: task 8 (block 0, argmax_reduce): waits[0] on counter 'lm' has threshold 0 (must be at least 1)");
}

TEST(ValidateRules, RegionNamesMissingBuffer) {
  Plan p = baseline();
  p.tasks[1].reads[0].buf = 99;
  EXPECT_EQ(first(p), "structure: task 1 (block 0, norm_matvec): reads[0] names buffer 99 (the plan has 19 buffers)");
}

TEST(ValidateRules, RegionOutsideBuffer) {
  Plan p = baseline();
  p.tasks[6].writes[0].dims[0] = fixed(0, 20);
  EXPECT_EQ(first(p), "structure: task 6 (block 0, lm_head_argmax): writes[0] buffer 'logits' [0:20] lies outside "
                      "the buffer's shape [16] in dimension 0");
}

TEST(ValidateRules, PosDependentRegionOutsideBufferAtLastPos) {
  Plan p = baseline();
  // rows [pos, pos+2) of an 8-row cache leave it at pos 7.
  p.tasks[2].writes[0].dims[0].hi = Affine{2, 1};
  EXPECT_EQ(first(p), "structure: task 2 (block 1, norm_matvec): writes[0] buffer 'k_cache' [7:9, 0:4] at pos 7 lies "
                      "outside the buffer's shape [8, 4] in dimension 0");
}

TEST(ValidateRules, EmptyRegionsAreInsideAnyBuffer) {
  Plan p = baseline();
  // [20, 10) is empty at every pos: no element, so not out of range (the footprint still differs).
  p.tasks[6].writes[0].dims[0] = fixed(20, 10);
  EXPECT_EQ(first(p).rfind("footprint: ", 0), 0u) << first(p);
}

TEST(ValidateRules, RegionRankMismatch) {
  Plan p = baseline();
  p.tasks[8].reads[0].dims.pop_back();
  EXPECT_EQ(first(p), "structure: task 8 (block 0, argmax_reduce): reads[0] has 1 intervals for buffer 'parts' of rank 2");
}

TEST(ValidateRules, QueueNamesMissingTask) {
  Plan p = baseline();
  p.queues[1].push_back(99);
  EXPECT_EQ(first(p), "structure: queue 1 position 4 names task 99 (the plan has 9 tasks)");
}

TEST(ValidateRules, TaskInTwoQueuesAndInNone) {
  Plan p = baseline();
  p.queues[1].push_back(0);
  ValidationReport r = validate_plan(p);
  ASSERT_GE(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "task 0 appears in queue 0 and again in queue 1");
  p = baseline();
  p.queues[0].erase(p.queues[0].begin() + 1);
  EXPECT_EQ(first(p), "structure: task 1 (block 0, norm_matvec) is in no queue");
}

TEST(ValidateRules, IdsMustEqualIndices) {
  Plan p = baseline();
  p.tasks[3].id = 7;
  p.counters[2].id = 0;
  p.buffers[5].id = 6;
  ValidationReport r = validate_plan(p);
  ASSERT_EQ(r.errors.size(), 3u) << r.to_text();
  EXPECT_EQ(r.errors[0].message, "buffer 5 ('w:k'): id is 6, expected its index 5");
  EXPECT_EQ(r.errors[1].message, "counter 2 ('attn'): id is 0, expected its index 2");
  EXPECT_EQ(r.errors[2].message, "task 3: id is 7, expected its index 3");
}

TEST(ValidateRules, DuplicateBufferName) {
  Plan p = baseline();
  p.buffers[kX2].name = "x";
  EXPECT_EQ(first(p), "structure: buffer 13: name 'x' is already used by buffer 2");
}

TEST(ValidateRules, TokenBuffersAndOutputs) {
  Plan p = baseline();
  p.token_input = kX;
  EXPECT_EQ(first(p), "structure: plan: token_input buffer 'x' is of kind activation, expected input");
  p = baseline();
  p.outputs = {kLogits};
  EXPECT_EQ(first(p), "structure: plan: output buffer 'next_token' is missing from outputs");
  p = baseline();
  p.buffers[kNextToken].dtype = BufDType::F32;
  EXPECT_EQ(first(p), "structure: plan: token_output buffer 'next_token' is f32[1], expected i32[1]");
}

TEST(ValidateRules, NonPositiveContext) {
  Plan p = baseline();
  p.context = 0;
  EXPECT_EQ(first(p), "structure: plan: context 0 must be at least 1");
}

TEST(ValidateRules, HugeBoundsAreRefusedNotOverflowed) {
  Plan p = baseline();
  p.tasks[6].writes[0].dims[0].hi = Affine{std::numeric_limits<int64_t>::max(), 1};
  EXPECT_EQ(first(p), "structure: task 6 (block 0, lm_head_argmax): writes[0] dimension 0: bound "
                      "9223372036854775807 + 1*pos is out of range (pos coefficient 0 or 1, |constant| <= 2^50)");
}

// --- footprint ---

TEST(ValidateRules, DeclaredReadMissing) {
  Plan p = baseline();
  p.tasks[5].reads.pop_back();  // the residual
  EXPECT_EQ(first(p), "footprint: task 5 (block 1, norm_matvec): reads buffer 'x' [0:8] (its opcode and parameters "
                      "imply it) but does not declare it");
}

TEST(ValidateRules, DeclaredWriteExtra) {
  Plan p = baseline();
  p.tasks[5].writes.push_back({kAttn, {fixed(0, 2)}});
  EXPECT_EQ(first(p), "footprint: task 5 (block 1, norm_matvec): declares that it writes buffer 'attn' [0:2], which "
                      "its opcode and parameters do not imply");
}

TEST(ValidateRules, BadOperandsReportFootprintError) {
  Plan p = baseline();
  p.tasks[1].p.row_end = 9;
  EXPECT_EQ(first(p), "footprint: task 1 (norm_matvec): rows [0, 9) must be a non-empty range inside [0, 8) (weight "
                      "rows)");
}

TEST(ValidateRules, WriteToWeight) {
  Plan p = baseline();
  p.tasks[5].p.out = kWFinalNorm;  // an f32 [8] weight fits the opcode's shape
  refill(p);
  EXPECT_EQ(first(p), "footprint: task 5 (block 1, norm_matvec): writes weight buffer 'w:final_norm', which is "
                      "read-only during a step");
}

// --- resources / co-residency ---

TEST(ValidateRules, MoreBlocksThanCoResident) {
  Plan p = baseline();
  p.target.sms = 1;
  EXPECT_EQ(first(p), "co-residency: plan: 2 blocks cannot all be resident on target sm_90a (1 SMs x 1 blocks per SM "
                      "= 1); a block waiting on one not yet launched would never proceed");
  p.target.max_blocks_per_sm = 2;
  EXPECT_EQ(first(p), "accepted");
}

TEST(ValidateRules, ResourcesExceedTarget) {
  Plan p = baseline();
  p.resources.smem_bytes = 300 * 1024;
  p.resources.threads = 2048;
  ValidationReport r = validate_plan(p);
  ASSERT_EQ(r.errors.size(), 2u) << r.to_text();
  EXPECT_EQ(r.errors[0].message, "plan: shared memory (bytes) per block is 307200, the target sm_90a allows [0, 232448]");
  EXPECT_EQ(r.errors[1].message, "plan: threads per block is 2048, the target sm_90a allows [1, 1024]");
  p = baseline();
  p.resources.rows_per_warp = 3;
  EXPECT_EQ(first(p), "resources: plan: rows_per_warp is 3; the matvec streams 1 or 2 weight rows per warp");
  p.resources.rows_per_warp = 1;
  EXPECT_EQ(first(p), "accepted");
}

TEST(ValidateRules, InsaneTarget) {
  Plan p = baseline();
  p.target.sms = 0;
  EXPECT_EQ(first(p), "resources: target sm_90a: sms is 0 (must be at least 1)");
}

// --- satisfiable ---

TEST(ValidateRules, ThresholdBeyondProducers) {
  Plan p = baseline();
  p.tasks[8].waits[0].threshold = 3;
  EXPECT_EQ(first(p), "satisfiable: task 8 (block 0, argmax_reduce): waits for counter 'lm' to reach 3 but its "
                      "signals add only 2 per step (producers: task 6 +1, task 7 +1)");
}

TEST(ValidateRules, WaitOnCounterNobodySignals) {
  Plan p = baseline();
  p.counters.push_back({5, "orphan"});
  p.tasks[8].waits.push_back({5, 1});
  EXPECT_EQ(first(p), "satisfiable: task 8 (block 0, argmax_reduce): waits for counter 'orphan' to reach 1 but its "
                      "signals add only 0 per step (no task signals it)");
}

// --- deadlock ---

TEST(ValidateRules, CycleThroughCountersOfTwoBlocks) {
  Plan p = baseline();
  p.tasks[1].waits.push_back({cO, 1});  // q waits for the o projection, which needs attention, which needs q
  ValidationReport r = validate_plan(p);
  ASSERT_EQ(r.errors.size(), 1u) << r.to_text();
  EXPECT_EQ(r.errors[0].rule, "deadlock");
  EXPECT_EQ(r.errors[0].message,
            "6 of 9 tasks can never run; cycle: task 1 (block 0, norm_matvec) waits for counter 'o' to reach 1 (stuck "
            "at 0) signalled by task 5 -> task 5 (block 1, norm_matvec) waits for counter 'attn' to reach 1 (stuck at "
            "0) signalled by task 4 -> task 4 (block 0, attn_partial) runs after task 1 in its queue");
  EXPECT_EQ(r.errors[0].cycle, (std::vector<int32_t>{1, 5, 4}));
  EXPECT_EQ(r.errors[0].counter, cO);
}

TEST(ValidateRules, CycleThroughQueueOrder) {
  Plan p = baseline();
  p.tasks[0].waits.push_back({cAttn, 1});  // embed waits for attention, later in its own queue
  EXPECT_EQ(first(p),
            "deadlock: 9 of 9 tasks can never run; cycle: task 0 (block 0, embed) waits for counter 'attn' to reach 1 "
            "(stuck at 0) signalled by task 4 -> task 4 (block 0, attn_partial) runs after task 1 in its queue -> task "
            "1 (block 0, norm_matvec) runs after task 0 in its queue");
}

TEST(ValidateRules, SelfWait) {
  Plan p = baseline();
  p.tasks[8].signals.push_back({cLm, 1});
  p.tasks[8].waits[0].threshold = 3;
  EXPECT_EQ(first(p), "deadlock: 1 of 9 tasks can never run; cycle: task 8 (block 0, argmax_reduce) waits for counter "
                      "'lm' to reach 3 (stuck at 2) signalled by task 8");
}

// --- races ---

TEST(ValidateRules, DroppedWaitIsReadAfterWriteRace) {
  Plan p = baseline();
  p.tasks[5].waits.clear();
  ValidationReport r = validate_plan(p);
  ASSERT_GE(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].rule + ": " + r.errors[0].message,
            "race: read-after-write race on buffer 'attn' [0:8]: task 4 (block 0, attn_partial) writes it and task 5 "
            "(block 1, norm_matvec) reads it, and neither happens before the other");
  EXPECT_EQ(r.errors[0].tasks, (std::vector<int32_t>{5, 4}));
  EXPECT_EQ(r.errors[0].buffer, kAttn);
}

TEST(ValidateRules, PartialThresholdGuaranteesNoProducer) {
  Plan p = baseline();
  p.tasks[4].waits[0].threshold = 2;  // 2 of q, k, v: any two may have finished
  ValidationReport r = validate_plan(p);
  ASSERT_GE(r.errors.size(), 2u) << r.to_text();
  // q is on attention's own block (queue order protects it); k is not.
  EXPECT_EQ(r.errors[0].rule + ": " + r.errors[0].message,
            "partial-threshold: task 4 (block 0, attn_partial): waits for counter 'qkv' to reach 2 of its 3 per step, "
            "which guarantees none of its producers ran (producers: task 1 +1, task 2 +1, task 3 +1), yet reads "
            "buffer 'k_cache' [0:1, 0:4] at pos 0 that task 2 (block 1, norm_matvec) writes");
  EXPECT_TRUE(has_rule(r, "race"));
}

TEST(ValidateRules, PartialThresholdGuaranteeingTheNeededProducerIsSafe) {
  // k and v signal 2 each, q signals 1 on its own queue: a threshold of 4 of 5 guarantees both
  // k and v (either alone leaves at most 3), and q runs before attention on block 0 anyway.
  Plan p = baseline();
  p.tasks[2].signals[0].inc = 2;
  p.tasks[3].signals[0].inc = 2;
  p.tasks[4].waits[0].threshold = 4;
  EXPECT_EQ(first(p), "accepted");
  p.tasks[4].waits[0].threshold = 3;  // now {q, k} or {q, v} suffice: neither cache is guaranteed
  ValidationReport r = validate_plan(p);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_rule(r, "race")) << r.to_text();
}

TEST(ValidateRules, KvAppendOrderedThroughItsQueueIsSafe) {
  // Attention waits for q and v only; k is queued before v on block 1, so v's signal
  // covers it (a false reject here would be a weak happens-before).
  Plan p = baseline();
  p.counters.push_back({5, "k"});
  p.tasks[2].signals[0].counter = 5;
  p.tasks[4].waits[0].threshold = 2;
  EXPECT_EQ(first(p), "accepted");
}

TEST(ValidateRules, KvReadBeforeAppend) {
  Plan p = baseline();
  p.counters.push_back({5, "kv"});
  p.tasks[2].signals[0].counter = 5;  // k and v signal a counter attention never waits for
  p.tasks[3].signals[0].counter = 5;
  p.tasks[4].waits[0].threshold = 1;  // q only: a full wait on what is left
  EXPECT_EQ(first(p), "race: read-after-write race on buffer 'k_cache' [0:1, 0:4] at pos 0: task 2 (block 1, "
                      "norm_matvec) writes it and task 4 (block 0, attn_partial) reads it, and neither happens before "
                      "the other");
}

TEST(ValidateRules, OverlappingWritesWithoutOrder) {
  Plan p = baseline();
  p.tasks[7].p.row_begin = 6;  // LM head tiles [0, 8) and [6, 16)
  refill(p);
  ValidationReport r = validate_plan(p);
  ASSERT_EQ(r.errors.size(), 2u) << r.to_text();
  EXPECT_EQ(r.errors[0].rule + ": " + r.errors[0].message,
            "race: write-after-write race on buffer 'logits' [6:8]: task 6 (block 0, lm_head_argmax) writes it and "
            "task 7 (block 1, lm_head_argmax) writes it, and neither happens before the other");
  EXPECT_EQ(r.errors[1].rule + ": " + r.errors[1].message,
            "output: task 7 (block 1, lm_head_argmax): writes buffer 'logits' [6:16], which task 6 (block 0, "
            "lm_head_argmax) also writes (every output element is written exactly once)");
}

// The o projection writes x in place (its residual) while a third block, ordered only after
// the embedding, still reads x: the write may land before that read.
Plan with_scratch_reader(Plan p) {
  p.buffers.push_back({int32_t(p.buffers.size()), "xn", BufferKind::Activation, BufDType::F32, {kD}, ""});
  Task t;
  t.id = int32_t(p.tasks.size());
  t.op = Op::RmsNorm;
  t.sm = 2;
  t.p.in = kX;
  t.p.norm = kWAttnNorm;
  t.p.out = int32_t(p.buffers.size() - 1);
  t.p.row_begin = 0;
  t.p.row_end = kD;
  t.waits = {{cEmbed, 1}};
  p.tasks.push_back(t);
  p.queues.push_back({t.id});
  p.tasks[5].p.out = kX;  // o projection: x = x + o(attn), in place
  for (Task& lm : p.tasks)
    if (lm.op == Op::LmHeadArgmax) lm.p.in = kX;
  refill(p);
  return p;
}

TEST(ValidateRules, ScratchReuseWhileStillReadIsWriteAfterRead) {
  Plan p = with_scratch_reader(baseline());
  EXPECT_EQ(first(p), "race: write-after-read race on buffer 'x' [0:8]: task 9 (block 2, rmsnorm) reads it and task 5 "
                      "(block 1, norm_matvec) writes it, and neither happens before the other");
}

TEST(ValidateRules, ScratchReuseAfterAllReadersIsSafe) {
  Plan p = with_scratch_reader(baseline());
  p.tasks[9].signals = {{cAttn, 1}};  // the o projection now waits for the reader too
  p.tasks[5].waits[0].threshold = 2;
  EXPECT_EQ(first(p), "accepted");
}

// --- initialisation and outputs ---

TEST(ValidateRules, ReadOfUnwrittenRegion) {
  Plan p = baseline();
  p.tasks[0].p.row_end = 4;  // embed writes x[0:4) only
  refill(p);
  EXPECT_EQ(first(p), "uninitialized: task 1 (block 0, norm_matvec): reads buffer 'x' [0:8], but elements [4:8] are "
                      "written by no task that happens before it (and activation buffers start uninitialised)");
}

TEST(ValidateRules, AttentionReadsRowPosThatNoTaskAppends) {
  Plan p = baseline();
  p.tasks[3].p.out = kKCache;  // v is appended to the k cache: v_cache row pos is never written
  refill(p);
  EXPECT_EQ(first(p), "uninitialized: task 4 (block 0, attn_partial): reads buffer 'v_cache' [0:1, 0:4] at pos 0, but "
                      "row pos, elements [0:4] of the row, is written by no task that happens before it");
}

TEST(ValidateRules, OutputNeverWritten) {
  Plan p = baseline();
  p.tasks[7].p.row_end = 12;  // logits [12, 16) are never written
  refill(p);
  EXPECT_EQ(first(p), "output: output buffer 'logits': elements [12:16] are never written");
}

TEST(ValidateRules, MaxErrorsCapsTheList) {
  Plan p = baseline();
  for (Task& t : p.tasks) t.sm = 7;
  ValidateOptions o;
  o.max_errors = 3;
  ValidationReport r = validate_plan(p, o);
  EXPECT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.to_json()["errors"].size(), 3u);
  EXPECT_EQ(r.to_json()["ok"], false);
  EXPECT_NE(r.to_text().find("rejected (3 errors): 9 tasks"), std::string::npos) << r.to_text();
}

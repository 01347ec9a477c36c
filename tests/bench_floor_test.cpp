// The floor's byte and flop counts against hand computations from published shapes.
#include <gtest/gtest.h>

#include "bench/floor.h"
#include "core/error.h"
#include "model/shapes.h"

namespace tessera {
namespace {

TEST(BenchFloor, Llama32_1bCountsEveryWeightOnceWithTheTiedHead) {
  const ModelConfig c = shape_config("llama-3.2-1b");
  // Per layer: 2 norms (2*2048) + q,o (2*2048^2) + k,v (2*512*2048) + gate,up,down
  // (3*8192*2048) = 60,821,504; 16 layers, final norm 2048, tied head 128256*2048.
  EXPECT_EQ(step_weight_params(c), 1235814400);  // the published 1.24B
  const StepWork w = step_work(c, 0);
  EXPECT_EQ(w.weight_bytes, 2471628800);  // 2.47 GB in bf16
  // One K and one V row of 8*64 bf16 per layer: 32,768 bytes per position.
  EXPECT_EQ(w.kv_read_bytes, 32768);
  EXPECT_EQ(w.kv_write_bytes, 32768);
  EXPECT_DOUBLE_EQ(w.matmul_flops, 2.0 * 1235746816);  // everything but the norms
  EXPECT_DOUBLE_EQ(w.attention_flops, 4.0 * 16 * 32 * 64);

  const StepWork w4k = step_work(c, 4095);
  EXPECT_EQ(w4k.kv_read_bytes, int64_t(4096) * 32768);
  EXPECT_EQ(w4k.weight_bytes, w.weight_bytes);
  EXPECT_DOUBLE_EQ(w4k.attention_flops, 4.0 * 16 * 32 * 64 * 4096);
}

TEST(BenchFloor, UntiedModelsAddOneEmbeddingRowNotTheTable) {
  const ModelConfig c = shape_config("llama-3-8b");
  // The published 8,030,261,248 counts the whole embedding table; a step gathers one row.
  EXPECT_EQ(step_weight_params(c) + int64_t(128256 - 1) * 4096, 8030261248);
}

TEST(BenchFloor, QwenBiasesAreCounted) {
  // Published 494,032,768 parameters, tied embedding once.
  EXPECT_EQ(step_weight_params(shape_config("qwen2.5-0.5b")), 494032768);
}

TEST(BenchFloor, TinyByHand) {
  const ModelConfig c = shape_config("tiny");  // 512 vocab, 64 hidden, 128 ff, 2 layers, 4/2 heads of 16
  // Matrices per layer: q,o 64*64 each, k,v 32*64 each, gate,up,down 128*64 each = 36,864;
  // LM head 512*64. Vectors: 2 norms of 64 per layer, final norm, one embedding row.
  const StepWork w = step_work(c, 10);
  EXPECT_EQ(w.weight_bytes, 2 * (2 * 36864 + 32768 + 2 * 2 * 64 + 64 + 64));
  EXPECT_EQ(w.kv_read_bytes, 11 * 2 * 2 * 32 * 2);  // 11 rows, K and V, 2 layers, 32 bf16
  EXPECT_EQ(w.kv_write_bytes, 2 * 2 * 32 * 2);
  EXPECT_DOUBLE_EQ(w.matmul_flops, 2.0 * (2 * 36864 + 32768));
  EXPECT_DOUBLE_EQ(w.attention_flops, 4.0 * 2 * 4 * 16 * 11);
  EXPECT_EQ(step_work(c, 10, 4, 4).weight_bytes, 2 * w.weight_bytes);
}

TEST(BenchFloor, FloorIsTheSlowerOfMemoryAndCompute) {
  StepWork w;
  w.weight_bytes = 3'000'000'000;
  w.matmul_flops = 1e12;
  Floor f = floor_of(w, 3e12, 1e15);  // 3 GB at 3 TB/s and 1 TFLOP at 1 PFLOP/s: 1 ms each
  EXPECT_DOUBLE_EQ(f.memory_seconds, 1e-3);
  EXPECT_DOUBLE_EQ(f.compute_seconds, 1e-3);
  f = floor_of(w, 3e12, 1e14);
  EXPECT_DOUBLE_EQ(f.seconds, 1e-2);
  EXPECT_STREQ(f.bound(), "compute");
  f = floor_of(w, 1e12, 1e15);
  EXPECT_DOUBLE_EQ(f.seconds, 3e-3);
  EXPECT_STREQ(f.bound(), "memory");
}

TEST(BenchFloor, L2FlushThreshold) {
  const int64_t l2 = 50 << 20;  // H100
  EXPECT_TRUE(l2_could_hold(step_work(shape_config("tiny"), 0).bytes(), l2));
  EXPECT_TRUE(l2_could_hold(4 * l2 - 1, l2));
  EXPECT_FALSE(l2_could_hold(4 * l2, l2));
  EXPECT_FALSE(l2_could_hold(step_work(shape_config("llama-3.2-1b"), 0).bytes(), l2));
}

TEST(BenchFloor, RejectsBadInputs) {
  const ModelConfig c = shape_config("tiny");
  EXPECT_THROW(step_work(c, -1), Error);
  EXPECT_THROW(floor_of(step_work(c, 0), 0, 1e12), Error);
  EXPECT_THROW(floor_of(step_work(c, 0), 1e12, -1), Error);
  ModelConfig broken = c;
  broken.num_heads = 0;
  EXPECT_THROW(step_work(broken, 0), Error);
}

}  // namespace
}  // namespace tessera

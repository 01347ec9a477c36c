// A synthetic plan shaped like a lowering, for the validator's scale and differential
// tests: an embedding, `layers` pairs of matvec ops tiled round-robin over the blocks
// (every tile of the second op reads all of the first's output; sibling tiles write
// disjoint rows of one buffer), an LM head in tiles and an argmax. Regions come from
// footprint(), as the lowering fills them.
#pragma once

#include <string>
#include <vector>

#include "plan/footprint.h"
#include "plan/plan.h"

namespace tessera::test {

struct Synthetic {
  Plan plan;
  int32_t dropped_task = -1;  // a B tile of a middle layer (for the negative case)
};

struct SyntheticShape {
  int layers = 391, blocks = 132;
  int64_t D = 4096, tile = 16, V = 32000, lm_tile = 128;
};

inline Synthetic synthetic_plan(const SyntheticShape& shape) {
  const int layers = shape.layers, blocks = shape.blocks;
  const int64_t D = shape.D, tile = shape.tile, V = shape.V, lm_tile = shape.lm_tile;
  const int64_t tiles = D / tile, lm_tiles = V / lm_tile;
  Synthetic s;
  Plan& p = s.plan;
  p.model = "synthetic";
  p.context = 4096;
  p.target.sms = blocks;
  auto buffer = [&](std::string name, BufferKind kind, std::vector<int64_t> shape, BufDType dt = BufDType::F32) {
    p.buffers.push_back({int32_t(p.buffers.size()), std::move(name), kind, dt, std::move(shape), ""});
    return p.buffers.back().id;
  };
  auto counter = [&](std::string name) {
    p.counters.push_back({int32_t(p.counters.size()), std::move(name)});
    return p.counters.back().id;
  };
  p.queues.resize(size_t(blocks));
  size_t next_block = 0;
  auto task = [&](Op op, TaskParams tp, std::vector<Wait> waits, std::vector<Signal> signals) {
    Task t;
    t.id = int32_t(p.tasks.size());
    t.op = op;
    t.sm = int32_t(next_block);
    next_block = (next_block + 1) % size_t(blocks);
    t.p = tp;
    t.waits = std::move(waits);
    t.signals = std::move(signals);
    Footprint f = footprint(p, t);
    t.reads = std::move(f.reads);
    t.writes = std::move(f.writes);
    p.queues[size_t(t.sm)].push_back(t.id);
    p.tasks.push_back(std::move(t));
    return p.tasks.back().id;
  };

  const int32_t token = buffer("token", BufferKind::Input, {1}, BufDType::I32);
  const int32_t w_embed = buffer("w:embed", BufferKind::Weight, {V, D}, BufDType::BF16);
  const int32_t w_norm = buffer("w:norm", BufferKind::Weight, {D}, BufDType::BF16);
  const int32_t w_a = buffer("w:a", BufferKind::Weight, {D, D}, BufDType::BF16);
  const int32_t w_b = buffer("w:b", BufferKind::Weight, {D, D}, BufDType::BF16);
  const int32_t w_lm = buffer("w:lm", BufferKind::Weight, {V, D}, BufDType::BF16);
  int32_t x = buffer("x.0", BufferKind::Activation, {D});

  TaskParams e;
  e.in = token;
  e.w = w_embed;
  e.out = x;
  e.row_begin = 0;
  e.row_end = D;
  int32_t done = counter("embed");
  int64_t done_total = 1;
  task(Op::Embed, e, {}, {{done, 1}});

  for (int l = 0; l < layers; ++l) {
    const int32_t h = buffer("h." + std::to_string(l), BufferKind::Activation, {D});
    const int32_t x_next = buffer("x." + std::to_string(l + 1), BufferKind::Activation, {D});
    const int32_t ca = counter("l" + std::to_string(l) + ".a");
    const int32_t cb = counter("l" + std::to_string(l) + ".b");
    for (int64_t i = 0; i < tiles; ++i) {
      TaskParams a;
      a.in = x;
      a.norm = w_norm;
      a.w = w_a;
      a.out = h;
      a.row_begin = i * tile;
      a.row_end = (i + 1) * tile;
      task(Op::NormMatvec, a, {{done, done_total}}, {{ca, 1}});
    }
    for (int64_t i = 0; i < tiles; ++i) {
      TaskParams b;
      b.in = h;
      b.w = w_b;
      b.residual = x;
      b.out = x_next;
      b.row_begin = i * tile;
      b.row_end = (i + 1) * tile;
      const int32_t id = task(Op::NormMatvec, b, {{ca, tiles}}, {{cb, 1}});
      if (l == layers / 2 && i == tiles / 2) s.dropped_task = id;
    }
    x = x_next;
    done = cb;
    done_total = tiles;
  }

  const int32_t logits = buffer("logits", BufferKind::Output, {V});
  const int32_t parts = buffer("parts", BufferKind::Activation, {lm_tiles, 2});
  const int32_t next = buffer("next_token", BufferKind::Output, {1}, BufDType::I32);
  const int32_t clm = counter("lm");
  for (int64_t i = 0; i < lm_tiles; ++i) {
    TaskParams t;
    t.in = x;
    t.norm = w_norm;
    t.w = w_lm;
    t.out = logits;
    t.out2 = parts;
    t.index = int32_t(i);
    t.row_begin = i * lm_tile;
    t.row_end = (i + 1) * lm_tile;
    task(Op::LmHeadArgmax, t, {{done, done_total}}, {{clm, 1}});
  }
  TaskParams am;
  am.in = parts;
  am.count = int32_t(lm_tiles);
  am.out = next;
  task(Op::ArgmaxReduce, am, {{clm, lm_tiles}}, {});
  p.token_input = token;
  p.token_output = next;
  p.outputs = {logits, next};
  return s;
}

}  // namespace tessera::test

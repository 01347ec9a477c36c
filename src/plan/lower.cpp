// The lowering driver: a flat list of passes (tasks, footprints, block assignment) over one
// Builder, so each pass can be read on its own. Task regions are never written by hand:
// the footprint pass asks footprint() for them, so a lowered plan declares exactly what its
// opcodes touch by construction.
#include "plan/lower.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "engine/rope.h"
#include "plan/footprint.h"
#include "plan/lower_internal.h"

namespace tessera {

namespace lowering {

int32_t Builder::add_buffer(const std::string& name, BufferKind kind, BufDType dtype,
                            std::vector<int64_t> shape, const std::string& weight) {
  TS_CHECK(!by_name_.count(name), "buffer '{}' added twice", name);
  Buffer b;
  b.id = int32_t(plan.buffers.size());
  b.name = name;
  b.kind = kind;
  b.dtype = dtype;
  b.shape = std::move(shape);
  b.weight = weight;
  by_name_[name] = b.id;
  plan.buffers.push_back(std::move(b));
  return plan.buffers.back().id;
}

int32_t Builder::weight(const std::string& canonical, std::vector<int64_t> shape) {
  const std::string name = "w:" + canonical;
  auto it = by_name_.find(name);
  if (it != by_name_.end()) {
    TS_CHECK(plan.buffers[size_t(it->second)].shape == shape, "weight '{}' used with two shapes", canonical);
    return it->second;
  }
  return add_buffer(name, BufferKind::Weight, knobs.weight_dtype == "f32" ? BufDType::F32 : BufDType::BF16,
                    std::move(shape), canonical);
}

int32_t Builder::buffer(const std::string& name) const {
  auto it = by_name_.find(name);
  TS_CHECK(it != by_name_.end(), "no buffer '{}'", name);
  return it->second;
}

Task& Builder::add_task(Op op, const TaskParams& p) {
  TS_CHECK(stage_ >= 0, "task before the first stage");
  Task t;
  t.id = int32_t(plan.tasks.size());
  t.op = op;
  t.p = p;
  plan.tasks.push_back(std::move(t));
  stage_of.push_back(stage_);
  return plan.tasks.back();
}

int32_t Builder::add_counter(const std::string& name) {
  Counter c;
  c.id = int32_t(plan.counters.size());
  c.name = name;
  plan.counters.push_back(c);
  emitted_.push_back(0);
  return c.id;
}

void Builder::signal(Task& t, int32_t counter, int64_t inc) {
  TS_CHECK(counter >= 0 && size_t(counter) < emitted_.size(), "counter {}", counter);
  t.signals.push_back({counter, inc});
  emitted_[size_t(counter)] += inc;
}

void Builder::wait_all(Task& t, int32_t counter) {
  TS_CHECK(counter >= 0 && size_t(counter) < emitted_.size(), "counter {}", counter);
  TS_CHECK(emitted_[size_t(counter)] > 0, "wait on counter '{}' nobody signals",
           plan.counters[size_t(counter)].name);
  t.waits.push_back({counter, emitted_[size_t(counter)]});
}

}  // namespace lowering

int64_t task_bytes(const Plan& plan, const Task& t, int64_t pos, bool weights_only) {
  auto region_bytes = [&](const Region& r) -> int64_t {
    if (r.buf < 0 || size_t(r.buf) >= plan.buffers.size()) return 0;
    const Buffer& b = plan.buffers[size_t(r.buf)];
    int64_t n = buf_dtype_size(b.dtype);
    for (const Interval& iv : r.dims) n *= std::max<int64_t>(0, iv.hi_at(pos) - iv.lo_at(pos));
    return n;
  };
  int64_t total = 0;
  for (const Region& r : t.reads) {
    if (weights_only && !(r.buf >= 0 && size_t(r.buf) < plan.buffers.size() &&
                          plan.buffers[size_t(r.buf)].kind == BufferKind::Weight))
      continue;
    int64_t bytes = region_bytes(r);
    // An embedding task declares the whole column slice (the row depends on the token)
    // but streams one row of it.
    if (t.op == Op::Embed && r.buf == t.p.w && !r.dims.empty())
      bytes /= std::max<int64_t>(1, r.dims[0].hi_at(pos) - r.dims[0].lo_at(pos));
    // An attention split declares the KV rows [0, pos] but reads its run of them.
    if (t.op == Op::AttnPartial && (r.buf == t.p.in2 || r.buf == t.p.in3) && !r.dims.empty() && t.p.splits > 0) {
      const int64_t declared = std::max<int64_t>(1, r.dims[0].hi_at(pos) - r.dims[0].lo_at(pos));
      const PosRange run = attn_split(pos, t.p.split, t.p.splits);
      bytes = bytes / declared * (run.end - run.begin);
    }
    total += bytes;
  }
  if (!weights_only)
    for (const Region& r : t.writes) total += region_bytes(r);
  return total;
}

Plan lower(const ModelConfig& config, const Target& target, const LowerConfig& knobs, int context,
           const std::string& label) {
  config.validate(label.empty() ? "lower" : label);
  if (context < 0) fail("lower: context {} must be positive (or 0 for the default)", context);
  if (context == 0) context = std::min(config.max_position_embeddings, 4096);
  if (context > config.max_position_embeddings)
    fail("lower: context {} exceeds the model's {} positions", context, config.max_position_embeddings);
  if (target.sms <= 0 || target.max_blocks_per_sm <= 0)
    fail("lower: target {} has {} SMs and {} blocks per SM", target.arch, target.sms, target.max_blocks_per_sm);
  const int64_t resident = int64_t(target.sms) * target.max_blocks_per_sm;
  if (knobs.sms < 0 || knobs.sms > resident)
    fail("lower: knob sms={} outside [0, {}] (the blocks target {} can hold at once)", knobs.sms, resident,
         target.arch);
  if (knobs.qkv_heads_per_task < 1) fail("lower: knob qkv_heads_per_task={} must be >= 1", knobs.qkv_heads_per_task);
  if (knobs.qkv_head_parts < 0 || knobs.qkv_head_parts > config.head_dim / 2)
    fail("lower: knob qkv_head_parts={} outside [0, {}] (0: choose; at most head_dim/2 rotation pairs)",
         knobs.qkv_head_parts, config.head_dim / 2);
  if (knobs.qkv_head_parts > 1 && knobs.qkv_heads_per_task > 1)
    fail("lower: knobs qkv_head_parts={} and qkv_heads_per_task={}: a task takes part of one head or whole heads, "
         "not both", knobs.qkv_head_parts, knobs.qkv_heads_per_task);
  for (int v : {knobs.o_rows_per_task, knobs.gate_up_rows_per_task, knobs.down_rows_per_task,
                knobs.lm_rows_per_task, knobs.embed_cols_per_task, knobs.norm_rows_per_task})
    if (v < 0) fail("lower: tile size knobs must be >= 0 (0: choose), got {}", v);
  if (knobs.kv_splits < 0 || knobs.kv_splits > context)
    fail("lower: knob kv_splits={} outside [0, {}] (0: choose; at most the context)", knobs.kv_splits, context);
  if (knobs.pipeline_stages < 0 || knobs.pipeline_stages > 16)
    fail("lower: knob pipeline_stages={} outside [0, 16]", knobs.pipeline_stages);
  if (knobs.threads < 32 || knobs.threads > target.threads_per_block || knobs.threads % 32 != 0)
    fail("lower: knob threads={}: expected a multiple of 32 in [32, {}] (target {})", knobs.threads,
         target.threads_per_block, target.arch);
  if (knobs.rows_per_warp != 1 && knobs.rows_per_warp != 2)
    fail("lower: knob rows_per_warp={}: expected 1 or 2", knobs.rows_per_warp);
  // Round-trip the string knobs through set() so a hand-built LowerConfig gets the same
  // diagnostics as --knob.
  {
    LowerConfig check;
    check.set("counter_granularity=" + knobs.counter_granularity);
    check.set("queue_order=" + knobs.queue_order);
    check.set("weight_dtype=" + knobs.weight_dtype);
    check.set("kv_dtype=" + knobs.kv_dtype);
  }
  const int blocks = knobs.sms > 0 ? knobs.sms : int(resident);

  Plan plan;
  plan.model = label;
  plan.context = context;
  plan.target = target;
  // `threads` (256 by default: 8 warps) stream a weight tile, rows_per_warp rows per warp
  // at a time. Shared memory: the weight ring of pipeline_stages x 16 KiB the plan asks
  // for (0: none, plain loads); a task's working set (its input vector, staged rows) comes
  // on top and the runtime sizes it per plan.
  plan.resources.threads = knobs.threads;
  plan.resources.rows_per_warp = knobs.rows_per_warp;
  plan.resources.regs_per_thread = 128;
  plan.resources.smem_bytes = int64_t(knobs.pipeline_stages) * 16 * 1024;
  plan.config = knobs.to_json();

  LowerConfig k = knobs;  // with the "0: choose" knobs that are not tile sizes resolved
  if (k.kv_splits == 0) k.kv_splits = lowering::default_kv_splits(config, blocks, context);
  lowering::Builder b(config, k, plan);
  lowering::emit_tasks(b, lowering::resolve_tiles(config, k, blocks));
  for (Task& t : plan.tasks) {
    Footprint f = footprint(plan, t);
    t.reads = std::move(f.reads);
    t.writes = std::move(f.writes);
  }
  lowering::assign_blocks(plan, b.stage_of, knobs.queue_order, blocks);
  return plan;
}

std::vector<float> constant_values(const Plan& plan, int32_t buf, const ModelConfig& config) {
  if (buf < 0 || size_t(buf) >= plan.buffers.size())
    fail("constant_values: buffer {} outside the plan's {} buffers", buf, plan.buffers.size());
  const Buffer& b = plan.buffers[size_t(buf)];
  if (b.kind != BufferKind::Constant) fail("constant_values: buffer '{}' is not a constant", b.name);
  if (b.weight == "rope_inv_freq") {
    std::vector<float> v = rope_inv_freq(config, b.name);
    if (b.shape.size() != 1 || int64_t(v.size()) != b.shape[0])
      fail("constant_values: buffer '{}' holds {} values, the model's rope has {}", b.name,
           b.shape.empty() ? 0 : b.shape[0], v.size());
    return v;
  }
  fail("constant_values: buffer '{}' holds unknown constant '{}' (known: rope_inv_freq)", b.name, b.weight);
}

}  // namespace tessera

// Knobs and target presets: the parts of lowering a user or the search sets by name. One
// table lists every knob with its parser, so `set`, `to_json` and the error messages
// (which list the legal keys and values) can never disagree.
#include <algorithm>
#include <charconv>
#include <functional>

#include <fmt/format.h>

#include "core/error.h"
#include "plan/lower_internal.h"

namespace tessera {

namespace {

struct Knob {
  const char* key;
  const char* legal;  // shown in error messages
  std::function<void(LowerConfig&, const std::string& key, const std::string& value)> set;
  std::function<nlohmann::json(const LowerConfig&)> get;
};

int parse_int(const std::string& key, const std::string& v, int lo, int hi) {
  int out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || out < lo || out > hi)
    throw UsageError(fmt::format("knob '{}': expected an integer in [{}, {}], got '{}'", key, lo, hi, v));
  return out;
}

// Rows per task: 0 chooses from the SM count; at most 2^20 (more rows than any model has).
constexpr int kMaxRows = 1 << 20;

Knob int_knob(const char* key, const char* legal, int LowerConfig::*field, int lo, int hi) {
  return {key, legal,
          [field, lo, hi](LowerConfig& c, const std::string& k, const std::string& v) { c.*field = parse_int(k, v, lo, hi); },
          [field](const LowerConfig& c) { return nlohmann::json(c.*field); }};
}

Knob choice_knob(const char* key, const char* legal, std::string LowerConfig::*field,
                 std::vector<std::string> choices) {
  return {key, legal,
          [field, choices](LowerConfig& c, const std::string& k, const std::string& v) {
            if (std::find(choices.begin(), choices.end(), v) == choices.end())
              throw UsageError(fmt::format("knob '{}': expected one of {}, got '{}'", k, fmt::join(choices, ", "), v));
            c.*field = v;
          },
          [field](const LowerConfig& c) { return nlohmann::json(c.*field); }};
}

Knob bool_knob(const char* key, bool LowerConfig::*field) {
  return {key, "true or false",
          [field](LowerConfig& c, const std::string& k, const std::string& v) {
            if (v == "true" || v == "1") c.*field = true;
            else if (v == "false" || v == "0") c.*field = false;
            else throw UsageError(fmt::format("knob '{}': expected true or false, got '{}'", k, v));
          },
          [field](const LowerConfig& c) { return nlohmann::json(c.*field); }};
}

const std::vector<Knob>& knobs() {
  static const std::vector<Knob> table = {
      int_knob("qkv_heads_per_task", "integer >= 1", &LowerConfig::qkv_heads_per_task, 1, kMaxRows),
      int_knob("qkv_head_parts", "integer in [0, head_dim/2] (0: choose)", &LowerConfig::qkv_head_parts, 0, kMaxRows),
      int_knob("o_rows_per_task", "integer >= 0 (0: choose)", &LowerConfig::o_rows_per_task, 0, kMaxRows),
      int_knob("gate_up_rows_per_task", "integer >= 0 (0: choose)", &LowerConfig::gate_up_rows_per_task, 0, kMaxRows),
      int_knob("down_rows_per_task", "integer >= 0 (0: choose)", &LowerConfig::down_rows_per_task, 0, kMaxRows),
      int_knob("lm_rows_per_task", "integer >= 0 (0: choose)", &LowerConfig::lm_rows_per_task, 0, kMaxRows),
      int_knob("embed_cols_per_task", "integer >= 0 (0: one task)", &LowerConfig::embed_cols_per_task, 0, kMaxRows),
      int_knob("norm_rows_per_task", "integer >= 0 (0: choose)", &LowerConfig::norm_rows_per_task, 0, kMaxRows),
      int_knob("sms", "integer >= 0 (0: every SM)", &LowerConfig::sms, 0, 1 << 16),
      int_knob("kv_splits", "integer in [0, 1024] (0: choose)", &LowerConfig::kv_splits, 0, 1024),
      int_knob("pipeline_stages", "integer in [0, 16] (0: no weight ring)", &LowerConfig::pipeline_stages, 0, 16),
      int_knob("threads", "a multiple of 32 in [32, 1024]", &LowerConfig::threads, 32, 1024),
      int_knob("rows_per_warp", "1 or 2", &LowerConfig::rows_per_warp, 1, 2),
      bool_knob("fuse_norm", &LowerConfig::fuse_norm),
      bool_knob("o_prefetch", &LowerConfig::o_prefetch),
      int_knob("gate_up_prefetch_kib", "integer >= 0 (KiB per matrix; 0: none)", &LowerConfig::gate_up_prefetch_kib, 0,
               1 << 20),
      int_knob("qkv_prefetch_kib", "integer >= 0 (KiB per tile; 0: none)", &LowerConfig::qkv_prefetch_kib, 0, 1 << 20),
      int_knob("down_prefetch_kib", "integer >= 0 (KiB per tile; 0: none)", &LowerConfig::down_prefetch_kib, 0, 1 << 20),
      choice_knob("counter_granularity", "group or op", &LowerConfig::counter_granularity, {"group", "op"}),
      choice_knob("queue_order", "bytes or round_robin", &LowerConfig::queue_order, {"bytes", "round_robin"}),
      choice_knob("weight_dtype", "bf16 or f32", &LowerConfig::weight_dtype, {"bf16", "f32"}),
      choice_knob("kv_dtype", "bf16 or f32", &LowerConfig::kv_dtype, {"bf16", "f32"}),
      choice_knob("fold_attention", "auto, on or off", &LowerConfig::fold_attention, {"auto", "on", "off"}),
  };
  return table;
}

// Every row-tile knob at once ("rows=16"): the finest plans are easiest to ask for this way.
const char* const kRowKnobs[] = {"o_rows_per_task", "gate_up_rows_per_task", "down_rows_per_task",
                                 "lm_rows_per_task", "embed_cols_per_task", "norm_rows_per_task"};

}  // namespace

nlohmann::json LowerConfig::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const Knob& k : knobs()) j[k.key] = k.get(*this);
  return j;
}

void LowerConfig::set(const std::string& key_eq_value) {
  auto eq = key_eq_value.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UsageError(fmt::format("knob '{}': expected key=value", key_eq_value));
  const std::string key = key_eq_value.substr(0, eq), value = key_eq_value.substr(eq + 1);
  if (key == "rows") {
    for (const char* k : kRowKnobs) set(std::string(k) + "=" + value);
    return;
  }
  for (const Knob& k : knobs())
    if (key == k.key) return k.set(*this, key, value);
  std::vector<std::string> names{"rows"};
  for (const Knob& k : knobs()) names.push_back(fmt::format("{} ({})", k.key, k.legal));
  throw UsageError(fmt::format("unknown knob '{}' (known: {})", key, fmt::join(names, ", ")));
}

// Public specifications (NVIDIA product pages / whitepapers for SM counts; the CUDA C++
// Programming Guide's "Technical Specifications per Compute Capability" table for the
// opt-in shared memory per block): A100 SXM 108 SMs, 163 KB (cc 8.0); sm_86 (RTX A6000 /
// A40) 84 SMs, 99 KB; RTX 4090 128 SMs, 99 KB (cc 8.9); H100 SXM 132 SMs, 227 KB (cc 9.0);
// B200 148 SMs, 227 KB (cc 10.0); RTX 5090 170 SMs, 99 KB (cc 12.0). Persistent megakernels
// run one block per SM, so max_blocks_per_sm is 1.
Target target_preset(const std::string& arch) {
  struct Preset {
    const char* arch;
    int sms;
    int smem_kb;
  };
  static const Preset presets[] = {{"sm_80", 108, 163}, {"sm_86", 84, 99},   {"sm_89", 128, 99},
                                   {"sm_90a", 132, 227}, {"sm_100a", 148, 227}, {"sm_120", 170, 99}};
  // The issue text and nvcc both say sm_90 / sm_100; the megakernel needs the "a" features.
  const std::string name = arch == "sm_90" ? "sm_90a" : arch == "sm_100" ? "sm_100a" : arch;
  std::vector<std::string> names;
  for (const Preset& p : presets) {
    if (name == p.arch) {
      Target t;
      t.arch = p.arch;
      t.sms = p.sms;
      t.max_blocks_per_sm = 1;
      t.smem_per_block = int64_t(p.smem_kb) * 1024;
      t.regs_per_thread = 255;
      t.threads_per_block = 1024;
      return t;
    }
    names.push_back(p.arch);
  }
  fail("unknown target architecture '{}' (known: {})", arch, fmt::join(names, ", "));
}

namespace lowering {

std::vector<std::pair<int64_t, int64_t>> split_range(int64_t n, int64_t size) {
  TS_CHECK(n > 0 && size > 0, "split_range({}, {})", n, size);
  std::vector<std::pair<int64_t, int64_t>> out;
  out.reserve(size_t((n + size - 1) / size));
  for (int64_t b = 0; b < n; b += size) out.push_back({b, std::min(n, b + size)});
  return out;
}

// Default tile sizes. A matvec stage streams its whole weight once, so the stage takes as
// long as its most loaded block: one tile per block (rows rounded up to a multiple of 16,
// whole warp row groups; at least 16). Each task carries a fixed cost of ~7 us on an H100
// (its waits, the norm prologue re-reading the input vector, the pipeline's ramp and
// drain), so two smaller tiles per block, the first default, cost one more of those per
// stage: the FFN's gate/up stage at 256 tiles of 32 rows ran 7.8 us per layer slower than
// at 131 tiles of 63 rows (docs/PERF.md, llama-3.2-1b on an H100). q/k/v: a head per task
// left 84 of 132 SMs idle while 48 streamed the stage (llama-3.2-1b: 11 us per layer for
// 2.9 us of bytes on an H200), and two parts per head (96 tasks) still left 36 idle while
// the 8B's stage took 20 us for 12.6 us of bytes, so by default the stage's rows are cut
// into one task per block across head boundaries (RoPE'd heads by rotation pairs,
// TaskParams::rope_pairs): tasks of ~47 rows instead of 64 on the 8B.
Tiles resolve_tiles(const ModelConfig& c, const LowerConfig& k, int blocks) {
  auto choose = [blocks](int64_t n, int knob) -> int64_t {
    if (knob > 0) return knob;
    int64_t per = (n + int64_t(blocks) - 1) / int64_t(blocks);
    return std::max<int64_t>(16, (per + 15) / 16 * 16);
  };
  Tiles t;
  t.qkv_heads = k.qkv_heads_per_task;
  t.qkv_parts = k.qkv_head_parts > 0 ? k.qkv_head_parts : 1;
  t.qkv_tasks = k.qkv_head_parts == 0 && k.qkv_heads_per_task == 1 ? std::max(blocks, 1) : 0;
  t.o_rows = choose(c.hidden_size, k.o_rows_per_task);
  t.gate_up_rows = choose(c.intermediate_size, k.gate_up_rows_per_task);
  t.down_rows = choose(c.hidden_size, k.down_rows_per_task);
  t.lm_rows = choose(c.vocab_size, k.lm_rows_per_task);
  t.norm_rows = choose(c.hidden_size, k.norm_rows_per_task);
  // The embedding is one row gather (D elements): one task unless asked otherwise.
  t.embed_cols = k.embed_cols_per_task > 0 ? k.embed_cols_per_task : c.hidden_size;
  return t;
}

// Split-KV default: enough splits that the kv heads' attention tasks cover the blocks (runs
// are balanced at every position, attn_split, so a long context spreads over all of them:
// one split per kv head made llama-3.2-1b at position 4096 27x its floor, 16 splits 3.7x,
// docs/PERF.md); at most 32, since the combine step reads every split of every head; and
// at least 256 positions per split at a full context, since splits cost a combine stage
// and a task each. Measured on an H100 (docs/PERF.md, tenth session): at context 128 one
// split beat two by 4-6% at every position for the 1B and 1-2% for the 8B; at context 256
// one beat four by 1-4%; at context 1024 four against sixteen was -2% at position 512 and
// +1% at 1023. (The rule was 64 positions per split, from before attention's one-pass
// long path.)
int default_kv_splits(const ModelConfig& c, int blocks, int context) {
  const int kv_heads = std::max(1, c.num_kv_heads);
  return std::max(1, std::min({blocks / kv_heads, 32, context / 256}));
}

}  // namespace lowering

}  // namespace tessera

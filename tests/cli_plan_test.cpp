// End-to-end tests of `tessera compile` and `tessera inspect` through the binary: the
// plan file they write and read, the summary lines, and exit codes for bad input.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "plan/plan_json.h"
#include "test_util.h"

namespace {

using tessera::test::TempDir;
using tessera::test::run_tessera;
using tessera::test::slurp;
using Result = tessera::test::RunResult;

bool has(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

TEST(CliPlan, CompileShapeThenInspect) {
  TempDir tmp;
  const std::string out = tmp.file("plan.json");
  Result r = run_tessera("compile --shape tiny --arch sm_86 --sms 10 --knob kv_splits=2 --knob fuse_norm=false --out " + out);
  ASSERT_EQ(r.rc, 0) << r.err;
  // tiny on 10 blocks: rows default to max(16, ceil(n / 10) rounded up to 16): 16 for the
  // 64-wide norms/o/down, 16 for gate/up (128), 64 for the LM head (512 -> 8 tiles).
  // q/k/v: the 10 blocks shared by rows (64 : 32 : 32 -> 5, 2, 2 tasks).
  // 1 embed + 2 layers x (2 x 4 rmsnorm + 9 qkv + 4 attn + 4 combine + 4 o + 8 gate/up +
  // 4 down) + 8 LM head tiles + 1 argmax = 92.
  EXPECT_TRUE(has(r.err, "compiled tiny for sm_86: 92 tasks, 10 blocks,")) << r.err;
  tessera::Plan p = tessera::load_plan(out);
  EXPECT_EQ(p.tasks.size(), 92u);
  EXPECT_EQ(p.queues.size(), 10u);
  EXPECT_EQ(p.target.arch, "sm_86");
  EXPECT_EQ(p.config["kv_splits"], 2);
  EXPECT_EQ(p.config["sms"], 10);

  r = run_tessera("inspect " + out);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(r.out, "totals:    92 tasks, 10 blocks,")) << r.out;
  EXPECT_TRUE(has(r.out, "tasks per block:")) << r.out;
  EXPECT_TRUE(has(r.out, "weight bytes per block: min ")) << r.out;
  EXPECT_TRUE(has(r.out, "imbalance max/mean")) << r.out;
  EXPECT_TRUE(has(r.out, "  attn_combine     8\n")) << r.out;
  EXPECT_TRUE(has(r.out, "  rmsnorm          16\n")) << r.out;
  EXPECT_TRUE(has(r.out, "assumption: 3.35 TB/s")) << r.out;
  EXPECT_TRUE(has(r.out, "predicted critical path:    ")) << r.out;
  EXPECT_TRUE(has(r.out, "predicted bandwidth floor:")) << r.out;
}

TEST(CliPlan, CompileRealModel) {
  auto model = tessera::test::shared_model("stories260K.bin");
  if (!model) GTEST_SKIP() << "stories260K.bin not found (set TESSERA_SHARED_DIR)";
  TempDir tmp;
  Result r = run_tessera("compile --model " + *model + " --arch sm_90a --context 64 --out " + tmp.file("p.json"));
  ASSERT_EQ(r.rc, 0) << r.err;
  tessera::Plan p = tessera::load_plan(tmp.file("p.json"));
  EXPECT_EQ(p.context, 64);
  EXPECT_EQ(p.model, *model);
  // stories260K: 5 layers, 8 query / 4 kv heads, tied embeddings.
  int attn = 0;
  for (const auto& t : p.tasks) attn += t.op == tessera::Op::AttnPartial;
  EXPECT_EQ(attn, 5 * 4 * 1);  // context 64: one split (the default keeps >= 64 positions per split)
  for (const auto& b : p.buffers) EXPECT_NE(b.name, "w:lm_head.weight");
}

TEST(CliPlan, UsageErrorsExitTwo) {
  TempDir tmp;
  const std::string out = " --out " + tmp.file("p.json");
  struct Case {
    std::string args, want;
  };
  const Case cases[] = {
      {"compile --arch sm_90a" + out, "give exactly one of --model and --shape"},
      {"compile --shape tiny --model x.gguf" + out, "give exactly one of --model and --shape"},
      {"compile --shape nope" + out, "--shape: unknown"},
      {"compile --shape tiny --arch sm_70" + out, "--arch: unknown target architecture 'sm_70'"},
      {"compile --shape tiny --knob kv_splits=-1" + out, "knob 'kv_splits': expected an integer in [0, 1024], got '-1'"},
      {"compile --shape tiny --knob bogus=1" + out, "unknown knob 'bogus'"},
      {"compile --shape tiny --context -3" + out, "--context -3 must be positive"},
      {"compile --shape tiny", "--out"},
      {"inspect", "plan"},
  };
  for (const Case& c : cases) {
    Result r = run_tessera(c.args);
    EXPECT_EQ(r.rc, 2) << c.args << "\n" << r.err;
    EXPECT_TRUE(has(r.err, c.want)) << c.args << "\n" << r.err;
  }
}

TEST(CliPlan, RuntimeErrorsExitOneNamingTheFile) {
  TempDir tmp;
  Result r = run_tessera("inspect " + tmp.file("none.json"));
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(has(r.err, tmp.file("none.json") + ": cannot open plan file")) << r.err;
  { std::ofstream(tmp.file("bad.json")) << R"({"format": "tessera-plan", "version": "3.1"})"; }
  r = run_tessera("inspect " + tmp.file("bad.json"));
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(has(r.err, tmp.file("bad.json") + ": plan format version 3.1 is newer than this tessera understands (1.x)"))
      << r.err;
  // Lowering failure (kv_splits beyond the context) is a runtime error naming the knob.
  r = run_tessera("compile --shape tiny --context 4 --knob kv_splits=8 --out " + tmp.file("p.json"));
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(has(r.err, "knob kv_splits=8 outside [0, 4]")) << r.err;
  // A structurally broken plan: a task names a block that does not exist.
  r = run_tessera("compile --shape tiny --out " + tmp.file("p.json"));
  ASSERT_EQ(r.rc, 0) << r.err;
  tessera::Plan p = tessera::load_plan(tmp.file("p.json"));
  p.tasks[3].sm = 999;
  tessera::save_plan(p, tmp.file("broken.json"));
  r = run_tessera("inspect " + tmp.file("broken.json"));
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(has(r.err, "task 3 names block 999 of 132 (run `tessera validate` for a full diagnosis)")) << r.err;
}

}  // namespace

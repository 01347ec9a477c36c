// `tessera bench` from the command line without a GPU: usage errors exit 2 before anything
// is loaded, --report renders records anywhere, and a measuring run on a machine without
// CUDA fails with a clear error instead of a crash.
#include <gtest/gtest.h>

#include "bench/record.h"
#include "test_util.h"

namespace tessera {
namespace {

using test::run_tessera;

BenchRecord rec(const std::string& backend, int64_t pos, double median) {
  BenchRecord r;
  r.date_utc = "2026-11-22T10:11:12Z";
  r.gpu.name = "NVIDIA H200";
  r.commit = "abc1234";
  r.model = "llama-3.2-1b";
  r.model_source = "shape";
  r.backend = backend;
  r.position = pos;
  r.steps = 100;
  r.median_ms = median;
  r.min_ms = median;
  r.max_ms = median;
  r.floor_ms = 0.58;
  r.ratio = median / 0.58;
  r.floor_bound = "memory";
  return r;
}

TEST(CliBench, UsageErrorsExitTwo) {
  test::TempDir tmp;
  ASSERT_EQ(run_tessera("compile --shape tiny --arch sm_90a --sms 4 --context 32 --out " + tmp.file("p.json")).rc, 0);
  struct Case {
    std::string args, needle;
  };
  const Case cases[] = {
      {"bench", "exactly one of --model or --shape"},
      {"bench --shape tiny --backend cuda", "unknown backend 'cuda'"},
      {"bench --shape tiny --backend megakernel,opz", "unknown backend 'opz'"},
      {"bench --shape tiny --positions 256", "position 256 is not below the context 256 of shape 'tiny'"},
      {"bench --shape tiny --positions 1,x", "--positions: 'x'"},
      {"bench --shape tiny --steps 0", "--steps 0"},
      {"bench --shape tiny --warmup -1", "--warmup -1"},
      {"bench --shape tiny --backend ops --plan " + tmp.file("p.json"), "--plan applies to the megakernel"},
      {"bench --shape tiny --plan " + tmp.file("p.json") + " --positions 32", "context 32 of plan"},
      {"bench --shape tiny --compare megakernel " + tmp.file("none.json"), "neither a backend"},
      {"bench --shape tiny --compare megakernel ops --backend ops", "drop --backend"},
      {"bench --report " + tmp.file("r.json") + " --shape tiny", "--report renders existing records"},
  };
  for (const Case& c : cases) {
    const test::RunResult r = run_tessera(c.args);
    EXPECT_EQ(r.rc, 2) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << c.args << "\n" << r.err;
  }
}

TEST(CliBench, ReportRendersTableAndChartWithoutAGpu) {
  test::TempDir tmp;
  write_records(tmp.file("a.json"), {rec("megakernel", 1, 0.8), rec("ops", 1, 1.6)});
  write_records(tmp.file("b.json"), {rec("torch-compile", 1, 1.9)});
  const test::RunResult r = run_tessera("bench --report " + tmp.file("a.json") + " " + tmp.file("b.json") +
                                        " --md " + tmp.file("t.md") + " --svg " + tmp.file("c.svg") + " --log-scale");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("| llama-3.2-1b | 1 | 0.580 | 0.800 (1.38x) | 1.600 (2.76x) | 1.900 (3.28x) |"), std::string::npos)
      << r.out;
  EXPECT_EQ(test::slurp(tmp.file("t.md")), r.out);
  const std::string svg = test::slurp(tmp.file("c.svg"));
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u) << svg.substr(0, 100);
  EXPECT_NE(svg.find("data-series=\"torch-compile\""), std::string::npos);
  EXPECT_NE(svg.find("log scale"), std::string::npos);
}

TEST(CliBench, ReportNamesABadRecordsFile) {
  test::TempDir tmp;
  std::ofstream(tmp.file("bad.json")) << "[{\"schema_version\": 1}]";
  const test::RunResult r = run_tessera("bench --report " + tmp.file("bad.json"));
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("bad.json: record 0: missing field"), std::string::npos) << r.err;
}

TEST(CliBench, MeasuringNeedsCuda) {
  const test::RunResult r = run_tessera("bench --shape tiny --steps 5 --warmup 1");
  if (r.rc == 0) {  // a CUDA build on a machine with a GPU: it measured
    EXPECT_NE(r.out.find("| tiny | 1 |"), std::string::npos) << r.out;
    return;
  }
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_NE(r.err.find("CUDA"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("only --report works"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tessera

// Benchmark records: JSON round trip, the errors a bad records file gets, the markdown table.
#include <gtest/gtest.h>

#include <fstream>

#include "bench/record.h"
#include "core/error.h"
#include "test_util.h"

namespace tessera {
namespace {

BenchRecord sample(const std::string& model, int64_t pos, const std::string& backend, double median,
                   double floor_ms) {
  BenchRecord r;
  r.date_utc = "2026-11-22T10:11:12Z";
  r.gpu = {"NVIDIA H200", 1980, 1980, 3201, 3201, "nvml", "580.95.05", "13.0"};
  r.commit = "abc1234";
  r.model = model;
  r.model_source = "shape";
  r.seed = 7;
  r.backend = backend;
  r.position = pos;
  r.steps = 100;
  r.l2_flushed = true;
  r.median_ms = median;
  r.min_ms = median * 0.98;
  r.max_ms = median * 1.1;
  r.floor_ms = floor_ms;
  r.ratio = median / floor_ms;
  r.floor_bytes = 2471694336;
  r.floor_flops = 2.47e9;
  r.floor_bound = "memory";
  r.ceilings = {4200.5, "cudaMemcpyAsync 1 GiB, best of 10", 750.25, "cublasGemmEx 8192^3, best of 10"};
  return r;
}

TEST(BenchRecord, JsonRoundTripKeepsEveryField) {
  BenchRecord r = sample("llama-3.2-1b", 512, "megakernel", 0.8, 0.59);
  r.plan = "plans/fast.json";
  const BenchRecord back = record_from_json(nlohmann::json::parse(record_to_json(r).dump()), "test");
  EXPECT_EQ(record_to_json(back), record_to_json(r));
  EXPECT_EQ(back.gpu.driver_version, "580.95.05");
  EXPECT_EQ(back.gpu.mem_clock_max_mhz, 3201);
  EXPECT_EQ(back.position, 512);
  EXPECT_DOUBLE_EQ(back.ceilings.matmul_tflops, 750.25);
  EXPECT_EQ(back.label(), "megakernel [fast.json]");
}

TEST(BenchRecord, FileRoundTrip) {
  test::TempDir tmp;
  std::vector<BenchRecord> rs = {sample("tiny", 1, "megakernel", 0.05, 0.001), sample("tiny", 1, "ops", 0.2, 0.001)};
  write_records(tmp.file("r.json"), rs);
  const std::vector<BenchRecord> back = read_records(tmp.file("r.json"));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].backend, "ops");
  EXPECT_DOUBLE_EQ(back[1].median_ms, 0.2);
}

void expect_error(const nlohmann::json& j, const std::string& needle) {
  try {
    record_from_json(j, "r.json: record 0");
    FAIL() << "expected an error mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(BenchRecord, BadRecordsNameTheField) {
  const nlohmann::json good = record_to_json(sample("tiny", 1, "megakernel", 0.05, 0.001));
  nlohmann::json j = good;
  j.erase("median_ms");
  expect_error(j, "missing field 'median_ms'");
  j = good;
  j["gpu"].erase("sm_clock_mhz");
  expect_error(j, "gpu: missing field 'sm_clock_mhz'");
  j = good;
  j["position"] = "one";
  expect_error(j, "'position' must be an integer");
  j = good;
  j["schema_version"] = 99;
  expect_error(j, "schema_version 99");
  j = good;
  j["min_ms"] = 0.0005;  // faster than its own floor
  expect_error(j, "below floor_ms");
}

TEST(BenchRecord, ReadRecordsRejectsNonArrays) {
  test::TempDir tmp;
  std::ofstream(tmp.file("a.json")) << "{\"records\": []}";
  std::ofstream(tmp.file("b.json")) << "[1, 2";
  EXPECT_THROW(read_records(tmp.file("a.json")), Error);
  EXPECT_THROW(read_records(tmp.file("b.json")), Error);
  EXPECT_THROW(read_records(tmp.file("missing.json")), Error);
}

TEST(BenchRecord, MarkdownTableRowsColumnsAndCells) {
  std::vector<BenchRecord> rs = {
      sample("llama-3.2-1b", 4096, "torch-compile", 2.0, 0.7),
      sample("llama-3.2-1b", 1, "ops", 1.5, 0.6),
      sample("llama-3.2-1b", 1, "megakernel", 0.9, 0.59),
      sample("llama-3-8b", 1, "megakernel", 4.0, 3.4),
      sample("llama-3.2-1b", 1, "megakernel", 0.8, 0.6),  // replaces the 0.9 one
  };
  const std::string md = markdown_table(rs);
  EXPECT_NE(md.find("Measured 2026-11-22 on NVIDIA H200, commit abc1234"), std::string::npos) << md;
  // Megakernel first, then ops, then peers in first-seen order.
  EXPECT_NE(md.find("| model | position | floor ms | megakernel | ops | torch-compile |"), std::string::npos) << md;
  EXPECT_NE(md.find("| llama-3.2-1b | 1 | 0.600 | 0.800 (1.33x) | 1.500 (2.50x) | — |"), std::string::npos) << md;
  EXPECT_NE(md.find("| llama-3.2-1b | 4096 | 0.700 | — | — | 2.000 (2.86x) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| llama-3-8b | 1 | 3.400 | 4.000 (1.18x) | — | — |"), std::string::npos) << md;
  // Models in first-seen order, positions ascending within a model.
  EXPECT_LT(md.find("| llama-3.2-1b | 1 |"), md.find("| llama-3.2-1b | 4096 |"));
  EXPECT_LT(md.find("| llama-3.2-1b | 4096 |"), md.find("| llama-3-8b | 1 |"));
}

TEST(BenchRecord, MarkdownEscapesPipes) {
  const std::string md = markdown_table({sample("odd|name", 1, "megakernel", 1, 0.5)});
  EXPECT_NE(md.find("| odd\\|name | 1 |"), std::string::npos) << md;
}

TEST(BenchRecord, CommitAndDateLookRight) {
  EXPECT_FALSE(build_commit().empty());
  const std::string d = utc_now_iso8601();
  ASSERT_EQ(d.size(), 20u) << d;
  EXPECT_EQ(d[4], '-');
  EXPECT_EQ(d[10], 'T');
  EXPECT_EQ(d.back(), 'Z');
}

}  // namespace
}  // namespace tessera

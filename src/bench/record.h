// The record of one benchmark measurement, as JSON, and the markdown table built from many.
// Everything a reader needs to reproduce or distrust a number travels with it: GPU, clocks
// as read, driver and runtime, commit, plan, the ceilings measured in the same run and the
// floor they give. Records from different runs and tools (tools/peer_bench.py writes the
// same schema) are rendered together by `tessera bench --report`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera {

inline constexpr int kBenchRecordSchema = 1;

struct GpuInfo {
  std::string name;
  int sm_clock_mhz = 0;       // as read at the start of the run (never set by bench)
  int sm_clock_max_mhz = 0;
  int mem_clock_mhz = 0;
  int mem_clock_max_mhz = 0;
  std::string clock_source;   // "nvml", or how they were read otherwise
  std::string driver_version;
  std::string runtime_version;
};

struct Ceilings {
  double copy_gbps = 0;      // device-to-device copy, GB/s of bytes read + written
  std::string copy_method;   // e.g. "cudaMemcpyAsync 1 GiB, best of 10"
  double matmul_tflops = 0;  // bf16 in, fp32 accumulate
  std::string matmul_method;
};

struct BenchRecord {
  int schema_version = kBenchRecordSchema;
  std::string date_utc;  // ISO 8601, e.g. 2026-11-22T10:00:00Z
  GpuInfo gpu;
  std::string commit;
  std::string model;         // shape name or model path
  std::string model_source;  // "shape" or "file"
  uint64_t seed = 0;         // weight seed of a shape
  std::string backend;       // megakernel, ops, ops-graph, hf-eager, torch-cudagraph, torch-compile
  std::string plan = "default";
  int64_t position = 0;
  int steps = 0;
  bool l2_flushed = false;
  double median_ms = 0, min_ms = 0, max_ms = 0;
  double floor_ms = 0;
  double ratio = 0;  // median / floor
  int64_t floor_bytes = 0;
  double floor_flops = 0;
  std::string floor_bound;  // "memory" or "compute"
  Ceilings ceilings;

  // The column a record fills in the table: the backend, plus the plan's file name when
  // it is not the default lowering.
  std::string label() const;
};

nlohmann::json record_to_json(const BenchRecord& r);
// Throws tessera::Error naming `where` and the first missing or mistyped field, or an
// unsupported schema version.
BenchRecord record_from_json(const nlohmann::json& j, const std::string& where);

// A records file is a JSON array of records.
void write_records(const std::string& path, const std::vector<BenchRecord>& records);
std::vector<BenchRecord> read_records(const std::string& path);

// How a report arranges records: rows model x position (models in first-seen order,
// positions ascending); columns the labels, megakernel, ops, ops-graph first, the rest in
// first-seen order. A later record for the same cell replaces an earlier one. Runs measure
// their own ceilings, so a row's floor is the lowest of its records' (the strictest).
struct ReportRow {
  std::string model;
  int64_t position = 0;
  double floor_ms = 0;
  std::vector<const BenchRecord*> cells;  // one per column; nullptr where none was measured
};
struct ReportLayout {
  std::vector<std::string> columns;
  std::vector<ReportRow> rows;
};
ReportLayout report_layout(const std::vector<BenchRecord>& records);

// Rows: model x position (models in first-seen order, positions ascending); columns: the
// floor, then each column's "ms (ratio x)", as report_layout arranges them. Opens with a
// line naming the dates, GPUs and commits the records come from.
std::string markdown_table(const std::vector<BenchRecord>& records);

std::string utc_now_iso8601();
// `git rev-parse --short HEAD` of the source tree at configure time, or "unknown".
std::string build_commit();

}  // namespace tessera

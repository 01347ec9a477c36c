// JSON through nlohmann with explicit field checks rather than its exceptions, so a bad
// records file is reported by file and field, as every other Tessera input is. The commit
// comes from a compile definition on this one file (CMakeLists.txt) so a new commit does
// not recompile the library.
#include "bench/record.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"

#include "tessera_commit.h"  // generated at build time (cmake/write_commit.cmake)
#ifndef TESSERA_COMMIT
#define TESSERA_COMMIT "unknown"
#endif

namespace tessera {

using nlohmann::json;

std::string BenchRecord::label() const {
  if (plan.empty() || plan == "default") return backend;
  return fmt::format("{} [{}]", backend, std::filesystem::path(plan).filename().string());
}

json record_to_json(const BenchRecord& r) {
  return json{
      {"schema_version", r.schema_version},
      {"date_utc", r.date_utc},
      {"gpu",
       {{"name", r.gpu.name},
        {"sm_clock_mhz", r.gpu.sm_clock_mhz},
        {"sm_clock_max_mhz", r.gpu.sm_clock_max_mhz},
        {"mem_clock_mhz", r.gpu.mem_clock_mhz},
        {"mem_clock_max_mhz", r.gpu.mem_clock_max_mhz},
        {"clock_source", r.gpu.clock_source},
        {"driver_version", r.gpu.driver_version},
        {"runtime_version", r.gpu.runtime_version}}},
      {"commit", r.commit},
      {"model", r.model},
      {"model_source", r.model_source},
      {"seed", r.seed},
      {"backend", r.backend},
      {"plan", r.plan},
      {"position", r.position},
      {"steps", r.steps},
      {"l2_flushed", r.l2_flushed},
      {"median_ms", r.median_ms},
      {"min_ms", r.min_ms},
      {"max_ms", r.max_ms},
      {"floor_ms", r.floor_ms},
      {"ratio", r.ratio},
      {"floor_bytes", r.floor_bytes},
      {"floor_flops", r.floor_flops},
      {"floor_bound", r.floor_bound},
      {"ceilings",
       {{"copy_gbps", r.ceilings.copy_gbps},
        {"copy_method", r.ceilings.copy_method},
        {"matmul_tflops", r.ceilings.matmul_tflops},
        {"matmul_method", r.ceilings.matmul_method}}},
  };
}

namespace {

// Typed field access that names the field on failure.
struct Reader {
  const json& j;
  std::string where;

  const json& at(const char* key) const {
    if (!j.is_object()) fail("{}: expected a JSON object", where);
    auto it = j.find(key);
    if (it == j.end()) fail("{}: missing field '{}'", where, key);
    return *it;
  }
  std::string str(const char* key) const {
    const json& v = at(key);
    if (!v.is_string()) fail("{}: field '{}' must be a string", where, key);
    return v.get<std::string>();
  }
  double num(const char* key) const {
    const json& v = at(key);
    if (!v.is_number()) fail("{}: field '{}' must be a number", where, key);
    return v.get<double>();
  }
  int64_t integer(const char* key) const {
    const json& v = at(key);
    if (!v.is_number_integer()) fail("{}: field '{}' must be an integer", where, key);
    return v.get<int64_t>();
  }
  bool boolean(const char* key) const {
    const json& v = at(key);
    if (!v.is_boolean()) fail("{}: field '{}' must be true or false", where, key);
    return v.get<bool>();
  }
  Reader sub(const char* key) const { return Reader{at(key), where + "." + key}; }
};

}  // namespace

BenchRecord record_from_json(const json& j, const std::string& where) {
  Reader in{j, where};
  BenchRecord r;
  r.schema_version = int(in.integer("schema_version"));
  if (r.schema_version != kBenchRecordSchema)
    fail("{}: schema_version {} is not supported (this tessera reads {})", where, r.schema_version,
         kBenchRecordSchema);
  r.date_utc = in.str("date_utc");
  const Reader g = in.sub("gpu");
  r.gpu.name = g.str("name");
  r.gpu.sm_clock_mhz = int(g.integer("sm_clock_mhz"));
  r.gpu.sm_clock_max_mhz = int(g.integer("sm_clock_max_mhz"));
  r.gpu.mem_clock_mhz = int(g.integer("mem_clock_mhz"));
  r.gpu.mem_clock_max_mhz = int(g.integer("mem_clock_max_mhz"));
  r.gpu.clock_source = g.str("clock_source");
  r.gpu.driver_version = g.str("driver_version");
  r.gpu.runtime_version = g.str("runtime_version");
  r.commit = in.str("commit");
  r.model = in.str("model");
  r.model_source = in.str("model_source");
  const int64_t seed = in.integer("seed");
  if (seed < 0) fail("{}: field 'seed' must not be negative", where);
  r.seed = uint64_t(seed);
  r.backend = in.str("backend");
  if (r.backend.empty()) fail("{}: field 'backend' is empty", where);
  r.plan = in.str("plan");
  r.position = in.integer("position");
  if (r.position < 0) fail("{}: field 'position' must not be negative", where);
  r.steps = int(in.integer("steps"));
  r.l2_flushed = in.boolean("l2_flushed");
  r.median_ms = in.num("median_ms");
  r.min_ms = in.num("min_ms");
  r.max_ms = in.num("max_ms");
  r.floor_ms = in.num("floor_ms");
  r.ratio = in.num("ratio");
  r.floor_bytes = in.integer("floor_bytes");
  r.floor_flops = in.num("floor_flops");
  r.floor_bound = in.str("floor_bound");
  const Reader c = in.sub("ceilings");
  r.ceilings.copy_gbps = c.num("copy_gbps");
  r.ceilings.copy_method = c.str("copy_method");
  r.ceilings.matmul_tflops = c.num("matmul_tflops");
  r.ceilings.matmul_method = c.str("matmul_method");
  // A record is a claim of speed; one that contradicts its own floor is not one.
  if (!(r.median_ms > 0) || !(r.floor_ms > 0))
    fail("{}: median_ms and floor_ms must be positive", where);
  if (r.min_ms < r.floor_ms)
    fail("{}: min_ms {} is below floor_ms {}: a measurement error, not a record", where, r.min_ms, r.floor_ms);
  return r;
}

void write_records(const std::string& path, const std::vector<BenchRecord>& records) {
  json arr = json::array();
  for (const BenchRecord& r : records) arr.push_back(record_to_json(r));
  std::ofstream out(path);
  if (!out) fail("cannot write records file '{}'", path);
  out << arr.dump(2) << "\n";
  if (!out) fail("writing records file '{}' failed", path);
}

std::vector<BenchRecord> read_records(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("cannot open records file '{}'", path);
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail("records file '{}' is not valid JSON", path);
  if (!j.is_array()) fail("records file '{}': expected a JSON array of records", path);
  std::vector<BenchRecord> records;
  for (size_t i = 0; i < j.size(); ++i)
    records.push_back(record_from_json(j[i], fmt::format("{}: record {}", path, i)));
  return records;
}

namespace {

std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string joined(const std::set<std::string>& values) {
  std::string out;
  for (const std::string& v : values) out += (out.empty() ? "" : ", ") + (v.empty() ? "?" : v);
  return out;
}

}  // namespace

ReportLayout report_layout(const std::vector<BenchRecord>& records) {
  static const char* kFirst[] = {"megakernel", "ops", "ops-graph"};
  ReportLayout layout;
  std::vector<std::string> models;
  for (const BenchRecord& r : records) {
    if (std::find(models.begin(), models.end(), r.model) == models.end()) models.push_back(r.model);
    if (std::find(layout.columns.begin(), layout.columns.end(), r.label()) == layout.columns.end())
      layout.columns.push_back(r.label());
  }
  auto rank = [](const std::string& s) {
    for (int i = 0; i < 3; ++i)
      if (s == kFirst[i] || s.rfind(std::string(kFirst[i]) + " [", 0) == 0) return i;
    return 3;
  };
  std::stable_sort(layout.columns.begin(), layout.columns.end(),
                   [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  std::map<std::pair<std::string, int64_t>, std::map<std::string, const BenchRecord*>> cells;
  for (const BenchRecord& r : records) cells[{r.model, r.position}][r.label()] = &r;
  for (const std::string& m : models)
    for (const auto& [key, by_label] : cells) {
      if (key.first != m) continue;
      ReportRow row;
      row.model = m;
      row.position = key.second;
      for (const std::string& c : layout.columns) {
        auto it = by_label.find(c);
        const BenchRecord* r = it == by_label.end() ? nullptr : it->second;
        row.cells.push_back(r);
        if (r) row.floor_ms = row.floor_ms == 0 ? r->floor_ms : std::min(row.floor_ms, r->floor_ms);
      }
      layout.rows.push_back(std::move(row));
    }
  return layout;
}

std::string markdown_table(const std::vector<BenchRecord>& records) {
  if (records.empty()) return "(no records)\n";
  std::set<std::string> dates, gpus, commits;
  for (const BenchRecord& r : records) {
    dates.insert(r.date_utc.substr(0, 10));
    gpus.insert(r.gpu.name);
    commits.insert(r.commit);
  }
  const ReportLayout layout = report_layout(records);
  std::string out = fmt::format(
      "Measured {} on {}, commit {}. Each cell: median ms/token (ratio to that run's floor).\n\n",
      joined(dates), md_escape(joined(gpus)), md_escape(joined(commits)));
  out += "| model | position | floor ms |";
  for (const std::string& c : layout.columns) out += fmt::format(" {} |", md_escape(c));
  out += "\n| --- | ---: | ---: |";
  for (size_t i = 0; i < layout.columns.size(); ++i) out += " ---: |";
  out += "\n";
  for (const ReportRow& row : layout.rows) {
    out += fmt::format("| {} | {} | {:.3f} |", md_escape(row.model), row.position, row.floor_ms);
    for (const BenchRecord* r : row.cells) {
      if (!r) out += " — |";
      else out += fmt::format(" {:.3f} ({:.2f}x) |", r->median_ms, r->ratio);
    }
    out += "\n";
  }
  return out;
}

std::string utc_now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string build_commit() { return TESSERA_COMMIT; }

}  // namespace tessera

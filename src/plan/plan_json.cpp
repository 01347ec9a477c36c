// Plan <-> JSON. The reader parses with nlohmann::json and then walks the document once,
// checking each value's type and range as it converts it; the JSON path of a value is
// built only when a diagnostic needs it, so a 200,000-task plan costs one pass. Every
// number that later code multiplies or indexes with is bounded here, so a hostile file
// can produce a diagnostic but never an overflow, a crash or an oversized allocation.
//
// The writer puts one buffer / counter / task / queue per line: plans are large, and a
// line per task keeps them greppable and diffable. Object keys are emitted in a fixed
// order and only non-default task parameters are written, so output is deterministic.
#include "plan/plan_json.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"

namespace tessera {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

constexpr int64_t kMaxDim = int64_t(1) << 40;    // buffer dimensions: [1, 2^40)
constexpr int64_t kMaxNumel = int64_t(1) << 48;  // elements per buffer: < 2^48
constexpr int64_t kMaxCoord = int64_t(1) << 48;  // region bounds, caps and rows: |x| <= 2^48
constexpr int64_t kMaxId = (int64_t(1) << 31) - 1;
constexpr int64_t kMaxRank = 8;
constexpr int kMaxConfigDepth = 32;

// ---------------------------------------------------------------- writer

ojson bound_json(const Affine& a) {
  if (a.pos == 0) return a.c;
  ojson j = ojson::object();
  j["c"] = a.c;
  j["pos"] = a.pos;
  return j;
}

ojson region_json(const Region& r) {
  ojson dims = ojson::array();
  for (const Interval& iv : r.dims) {
    ojson d = ojson::array({bound_json(iv.lo), bound_json(iv.hi)});
    if (iv.cap != std::numeric_limits<int64_t>::max()) d.push_back(iv.cap);
    dims.push_back(std::move(d));
  }
  ojson j = ojson::object();
  j["buf"] = r.buf;
  j["dims"] = std::move(dims);
  return j;
}

ojson params_json(const TaskParams& p) {
  const TaskParams d;
  ojson j = ojson::object();
#define TS_PARAM(field) \
  if (p.field != d.field) j[#field] = p.field;
  TS_PARAM(in) TS_PARAM(in2) TS_PARAM(in3) TS_PARAM(norm) TS_PARAM(w) TS_PARAM(w2) TS_PARAM(bias)
  TS_PARAM(qk_norm) TS_PARAM(rope) TS_PARAM(residual) TS_PARAM(out) TS_PARAM(out2)
  TS_PARAM(row_begin) TS_PARAM(row_end) TS_PARAM(head_dim) TS_PARAM(split) TS_PARAM(splits)
  TS_PARAM(chunk) TS_PARAM(index) TS_PARAM(count) TS_PARAM(out_at_pos) TS_PARAM(rope_pairs)
  TS_PARAM(l2_prefetch)
#undef TS_PARAM
  // double(float) prints with enough digits to read back the same float.
  if (p.eps != d.eps) j["eps"] = double(p.eps);
  return j;
}

ojson task_json(const Task& t) {
  ojson j = ojson::object();
  j["id"] = t.id;
  j["op"] = op_name(t.op);
  j["sm"] = t.sm;
  j["params"] = params_json(t.p);
  ojson reads = ojson::array(), writes = ojson::array(), waits = ojson::array(), signals = ojson::array();
  for (const Region& r : t.reads) reads.push_back(region_json(r));
  for (const Region& r : t.writes) writes.push_back(region_json(r));
  for (const Wait& w : t.waits) waits.push_back(ojson{{"counter", w.counter}, {"threshold", w.threshold}});
  for (const Signal& s : t.signals) signals.push_back(ojson{{"counter", s.counter}, {"inc", s.inc}});
  j["reads"] = std::move(reads);
  j["writes"] = std::move(writes);
  j["waits"] = std::move(waits);
  j["signals"] = std::move(signals);
  return j;
}

ojson buffer_json(const Buffer& b) {
  ojson j = ojson::object();
  j["id"] = b.id;
  j["name"] = b.name;
  j["kind"] = buffer_kind_name(b.kind);
  j["dtype"] = buf_dtype_name(b.dtype);
  j["shape"] = b.shape;
  if (!b.weight.empty()) j["weight"] = b.weight;
  return j;
}

template <typename T, typename F>
void write_lines(std::string& out, const char* key, const std::vector<T>& items, F to_json) {
  out += fmt::format("  \"{}\": [", key);
  for (size_t i = 0; i < items.size(); ++i) {
    out += i == 0 ? "\n    " : ",\n    ";
    out += to_json(items[i]).dump();
  }
  out += items.empty() ? "],\n" : "\n  ],\n";
}

// ---------------------------------------------------------------- reader

// A JSON path as a chain of stack frames: free to extend, rendered only for diagnostics.
struct Path {
  const Path* parent = nullptr;
  const char* key = nullptr;  // object member, or nullptr for an array element
  size_t index = 0;

  Path operator/(const char* k) const { return Path{this, k, 0}; }
  Path operator[](size_t i) const { return Path{this, nullptr, i}; }
  std::string str() const {
    std::string s = parent ? parent->str() : "";
    if (!parent) return s;
    if (key) return s.empty() ? std::string(key) : s + "." + key;
    return s + "[" + std::to_string(index) + "]";
  }
};

class Reader {
 public:
  explicit Reader(const std::string& where) : where_(where) {}

  template <typename... Args>
  [[noreturn]] void bad(const Path& p, fmt::format_string<Args...> f, Args&&... args) const {
    std::string at = p.str();
    fail("{}: {}{}", where_, at.empty() ? "" : at + ": ", fmt::format(f, std::forward<Args>(args)...));
  }

  const json& object(const json& j, const Path& p) const {
    if (!j.is_object()) bad(p, "expected an object, got {}", type(j));
    return j;
  }
  const json& array(const json& j, const Path& p) const {
    if (!j.is_array()) bad(p, "expected an array, got {}", type(j));
    return j;
  }
  // Member `key` of object `obj` (already checked to be an object).
  const json& at(const json& obj, const char* key, const Path& p) const {
    auto it = obj.find(key);
    if (it == obj.end()) bad(p, "missing field '{}'", key);
    return *it;
  }
  int64_t integer(const json& j, const Path& p, int64_t lo, int64_t hi) const {
    int64_t v;
    if (j.is_number_integer() && !j.is_number_unsigned()) {
      v = j.get<int64_t>();
    } else if (j.is_number_unsigned()) {
      uint64_t u = j.get<uint64_t>();
      if (u > uint64_t(hi)) bad(p, "{} is outside [{}, {}]", u, lo, hi);
      v = int64_t(u);
    } else {
      bad(p, "expected an integer, got {}", type(j));
    }
    if (v < lo || v > hi) bad(p, "{} is outside [{}, {}]", v, lo, hi);
    return v;
  }
  int64_t integer(const json& obj, const char* key, const Path& p, int64_t lo, int64_t hi) const {
    return integer(at(obj, key, p), p / key, lo, hi);
  }
  const std::string& string(const json& obj, const char* key, const Path& p) const {
    const json& j = at(obj, key, p);
    if (!j.is_string()) bad(p / key, "expected a string, got {}", type(j));
    return j.get_ref<const std::string&>();
  }
  bool boolean(const json& j, const Path& p) const {
    if (!j.is_boolean()) bad(p, "expected true or false, got {}", type(j));
    return j.get<bool>();
  }
  static std::string type(const json& j) {
    if (j.is_number_float()) return "a non-integer number";
    return j.type_name();
  }

 private:
  std::string where_;
};

void check_depth(const Reader& r, const json& j, const Path& p, int depth) {
  if (depth > kMaxConfigDepth) r.bad(p, "nested deeper than {} levels", kMaxConfigDepth);
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it) check_depth(r, *it, p, depth + 1);
  else if (j.is_array())
    for (const json& e : j) check_depth(r, e, p, depth + 1);
}

Affine read_bound(const Reader& r, const json& j, const Path& p) {
  if (j.is_object()) {
    Affine a;
    a.c = r.integer(j, "c", p, -kMaxCoord, kMaxCoord);
    a.pos = r.integer(j, "pos", p, 0, 1);
    return a;
  }
  if (!j.is_number_integer()) r.bad(p, "expected an integer or {{\"c\": C, \"pos\": K}}, got {}", Reader::type(j));
  return Affine{r.integer(j, p, -kMaxCoord, kMaxCoord), 0};
}

Region read_region(const Reader& r, const json& j, const Path& p) {
  r.object(j, p);
  Region reg;
  reg.buf = int32_t(r.integer(j, "buf", p, 0, kMaxId));
  const Path dp = p / "dims";
  const json& dims = r.array(r.at(j, "dims", p), dp);
  if (int64_t(dims.size()) > kMaxRank) r.bad(dp, "{} dimensions (at most {})", dims.size(), kMaxRank);
  reg.dims.reserve(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    const Path ip = dp[i];
    const json& d = r.array(dims[i], ip);
    if (d.size() != 2 && d.size() != 3) r.bad(ip, "expected [lo, hi] or [lo, hi, cap], got {} elements", d.size());
    Interval iv;
    iv.lo = read_bound(r, d[0], ip[0]);
    iv.hi = read_bound(r, d[1], ip[1]);
    if (d.size() == 3) iv.cap = r.integer(d[2], ip[2], -kMaxCoord, kMaxCoord);
    reg.dims.push_back(iv);
  }
  return reg;
}

TaskParams read_params(const Reader& r, const json& j, const Path& p) {
  r.object(j, p);
  TaskParams t;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const Path kp = p / k.c_str();
    const json& v = it.value();
    auto buf = [&](int32_t& f) { f = int32_t(r.integer(v, kp, -1, kMaxId)); };
    auto nat = [&](int32_t& f) { f = int32_t(r.integer(v, kp, 0, kMaxId)); };
    if (k == "in") buf(t.in);
    else if (k == "in2") buf(t.in2);
    else if (k == "in3") buf(t.in3);
    else if (k == "norm") buf(t.norm);
    else if (k == "w") buf(t.w);
    else if (k == "w2") buf(t.w2);
    else if (k == "bias") buf(t.bias);
    else if (k == "qk_norm") buf(t.qk_norm);
    else if (k == "rope") buf(t.rope);
    else if (k == "residual") buf(t.residual);
    else if (k == "out") buf(t.out);
    else if (k == "out2") buf(t.out2);
    else if (k == "row_begin") t.row_begin = r.integer(v, kp, 0, kMaxCoord);
    else if (k == "row_end") t.row_end = r.integer(v, kp, 0, kMaxCoord);
    else if (k == "head_dim") nat(t.head_dim);
    else if (k == "split") nat(t.split);
    else if (k == "splits") nat(t.splits);
    else if (k == "chunk") nat(t.chunk);
    else if (k == "index") nat(t.index);
    else if (k == "count") nat(t.count);
    else if (k == "out_at_pos") t.out_at_pos = r.boolean(v, kp);
    else if (k == "rope_pairs") t.rope_pairs = r.boolean(v, kp);
    else if (k == "l2_prefetch") t.l2_prefetch = r.integer(v, kp, 0, int64_t(1) << 40);
    else if (k == "eps") {
      if (!v.is_number()) r.bad(kp, "expected a number, got {}", Reader::type(v));
      double e = v.get<double>();
      if (!(e > 0 && e < 1)) r.bad(kp, "{} is outside (0, 1)", e);
      t.eps = float(e);
    }
    // Unknown parameters are ignored: a newer minor version may add some.
  }
  return t;
}

Task read_task(const Reader& r, const json& j, const Path& p) {
  r.object(j, p);
  Task t;
  t.id = int32_t(r.integer(j, "id", p, 0, kMaxId));
  const std::string& op = r.string(j, "op", p);
  if (!parse_op_name(op, &t.op)) {
    std::vector<std::string> names;
    for (int i = 0; i < kNumOps; ++i) names.push_back(op_name(Op(i)));
    r.bad(p / "op", "unknown opcode '{}' (known: {})", op, fmt::join(names, ", "));
  }
  t.sm = int32_t(r.integer(j, "sm", p, 0, kMaxId));
  t.p = read_params(r, r.at(j, "params", p), p / "params");
  for (auto [key, out] : {std::pair<const char*, std::vector<Region>*>{"reads", &t.reads}, {"writes", &t.writes}}) {
    const Path ap = p / key;
    const json& a = r.array(r.at(j, key, p), ap);
    out->reserve(a.size());
    for (size_t i = 0; i < a.size(); ++i) out->push_back(read_region(r, a[i], ap[i]));
  }
  {
    const Path ap = p / "waits";
    const json& a = r.array(r.at(j, "waits", p), ap);
    for (size_t i = 0; i < a.size(); ++i) {
      const Path ep = ap[i];
      r.object(a[i], ep);
      t.waits.push_back({int32_t(r.integer(a[i], "counter", ep, 0, kMaxId)),
                         r.integer(a[i], "threshold", ep, 1, kMaxId)});
    }
  }
  {
    const Path ap = p / "signals";
    const json& a = r.array(r.at(j, "signals", p), ap);
    for (size_t i = 0; i < a.size(); ++i) {
      const Path ep = ap[i];
      r.object(a[i], ep);
      t.signals.push_back({int32_t(r.integer(a[i], "counter", ep, 0, kMaxId)), r.integer(a[i], "inc", ep, 1, kMaxId)});
    }
  }
  return t;
}

Buffer read_buffer(const Reader& r, const json& j, const Path& p) {
  r.object(j, p);
  Buffer b;
  b.id = int32_t(r.integer(j, "id", p, 0, kMaxId));
  b.name = r.string(j, "name", p);
  const std::string& kind = r.string(j, "kind", p);
  static const BufferKind kinds[] = {BufferKind::Weight, BufferKind::Constant, BufferKind::Input,
                                     BufferKind::State, BufferKind::Activation, BufferKind::Output};
  bool found = false;
  for (BufferKind k : kinds)
    if (kind == buffer_kind_name(k)) b.kind = k, found = true;
  if (!found)
    r.bad(p / "kind", "unknown buffer kind '{}' (known: weight, constant, input, state, activation, output)", kind);
  const std::string& dtype = r.string(j, "dtype", p);
  found = false;
  for (BufDType t : {BufDType::F32, BufDType::BF16, BufDType::I32})
    if (dtype == buf_dtype_name(t)) b.dtype = t, found = true;
  if (!found) r.bad(p / "dtype", "unknown dtype '{}' (known: f32, bf16, i32)", dtype);
  const Path sp = p / "shape";
  const json& shape = r.array(r.at(j, "shape", p), sp);
  if (shape.empty() || int64_t(shape.size()) > kMaxRank)
    r.bad(sp, "rank {} is outside [1, {}]", shape.size(), kMaxRank);
  int64_t numel = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t d = r.integer(shape[i], sp[i], 1, kMaxDim - 1);
    if (numel > (kMaxNumel - 1) / d) r.bad(sp, "{} elements or more (at most 2^48 - 1)", kMaxNumel);
    numel *= d;
    b.shape.push_back(d);
  }
  if (j.contains("weight")) {
    const json& w = j["weight"];
    if (!w.is_string()) r.bad(p / "weight", "expected a string, got {}", Reader::type(w));
    b.weight = w.get<std::string>();
  }
  return b;
}

Target read_target(const Reader& r, const json& j, const Path& p) {
  r.object(j, p);
  Target t;
  t.arch = r.string(j, "arch", p);
  t.sms = int32_t(r.integer(j, "sms", p, 1, 1 << 20));
  t.max_blocks_per_sm = int32_t(r.integer(j, "max_blocks_per_sm", p, 1, 1024));
  t.smem_per_block = r.integer(j, "smem_per_block", p, 0, int64_t(1) << 40);
  t.regs_per_thread = int32_t(r.integer(j, "regs_per_thread", p, 1, 1 << 16));
  t.threads_per_block = int32_t(r.integer(j, "threads_per_block", p, 1, 1 << 16));
  return t;
}

Resources read_resources(const Reader& r, const json& j, const Path& p) {
  r.object(j, p);
  Resources res;
  res.smem_bytes = r.integer(j, "smem_bytes", p, 0, int64_t(1) << 40);
  res.threads = int32_t(r.integer(j, "threads", p, 1, 1 << 16));
  res.regs_per_thread = int32_t(r.integer(j, "regs_per_thread", p, 1, 1 << 16));
  if (j.contains("rows_per_warp")) res.rows_per_warp = int32_t(r.integer(j, "rows_per_warp", p, 1, 2));
  return res;
}

void check_format(const Reader& r, const json& j, const Path& root) {
  if (!j.is_string()) r.bad(root / "format", "expected a string, got {}", Reader::type(j));
  if (j.get_ref<const std::string&>() != "tessera-plan")
    r.bad(root / "format", "expected \"tessera-plan\", got '{}'", j.get_ref<const std::string&>());
}

void check_version(const Reader& r, const json& j, const Path& root) {
  if (!j.is_string()) r.bad(root / "version", "expected a string, got {}", Reader::type(j));
  const std::string& v = j.get_ref<const std::string&>();
  int major = -1, minor = -1;
  const char* s = v.data();
  const char* end = v.data() + v.size();
  auto [p1, e1] = std::from_chars(s, end, major);
  bool ok = e1 == std::errc() && p1 < end && *p1 == '.';
  if (ok) {
    auto [p2, e2] = std::from_chars(p1 + 1, end, minor);
    ok = e2 == std::errc() && p2 == end && major >= 0 && minor >= 0;
  }
  if (!ok) r.bad(root / "version", "expected \"MAJOR.MINOR\", got '{}'", v);
  if (major > kPlanVersionMajor)
    r.bad(root, "plan format version {} is newer than this tessera understands ({}.x); upgrade tessera", v,
          kPlanVersionMajor);
  if (major < kPlanVersionMajor)
    r.bad(root, "plan format version {} is older than this tessera reads ({}.x)", v, kPlanVersionMajor);
}

}  // namespace

std::string plan_to_json(const Plan& plan) {
  std::string out = "{\n";
  out += fmt::format("  \"format\": \"tessera-plan\",\n  \"version\": \"{}.{}\",\n", kPlanVersionMajor,
                     kPlanVersionMinor);
  out += fmt::format("  \"model\": {},\n  \"context\": {},\n", json(plan.model).dump(), plan.context);
  const Target& t = plan.target;
  ojson target = {{"arch", t.arch},
                  {"sms", t.sms},
                  {"max_blocks_per_sm", t.max_blocks_per_sm},
                  {"smem_per_block", t.smem_per_block},
                  {"regs_per_thread", t.regs_per_thread},
                  {"threads_per_block", t.threads_per_block}};
  ojson res = {{"smem_bytes", plan.resources.smem_bytes},
               {"threads", plan.resources.threads},
               {"regs_per_thread", plan.resources.regs_per_thread},
               {"rows_per_warp", plan.resources.rows_per_warp}};
  out += fmt::format("  \"target\": {},\n  \"resources\": {},\n", target.dump(), res.dump());
  out += fmt::format("  \"config\": {},\n", plan.config.dump());
  write_lines(out, "buffers", plan.buffers, buffer_json);
  write_lines(out, "counters", plan.counters,
              [](const Counter& c) { return ojson{{"id", c.id}, {"name", c.name}}; });
  write_lines(out, "tasks", plan.tasks, task_json);
  write_lines(out, "queues", plan.queues, [](const std::vector<int32_t>& q) { return ojson(q); });
  out += fmt::format("  \"outputs\": {},\n", json(plan.outputs).dump());
  out += fmt::format("  \"token_input\": {},\n  \"token_output\": {}\n}}\n", plan.token_input, plan.token_output);
  return out;
}

Plan parse_plan_json(const std::string& text, const std::string& where) {
  const Reader r(where);
  const Path root;
  const Path tasks_path = root / "tasks";
  // Tasks are converted as the parser finishes each one and dropped from the document, so
  // the DOM never holds the whole task list (a 200,000-task plan would need over a GB).
  // Streaming starts once the format and version (written first) have been accepted, so a
  // newer plan is refused for its version, not for a task shape this build does not know.
  std::vector<Task> streamed;
  std::string top_key;
  bool format_ok = false, version_ok = false, tasks_is_array = false;
  int tasks_fields = 0;
  size_t task_index = 0;
  auto callback = [&](int depth, json::parse_event_t ev, json& parsed) -> bool {
    using E = json::parse_event_t;
    if (depth == 1) {
      if (ev == E::key) {
        top_key = parsed.get<std::string>();
        if (top_key == "tasks" && ++tasks_fields > 1) r.bad(tasks_path, "appears twice");
      } else if (ev == E::value && top_key == "format") {
        check_format(r, parsed, root);
        format_ok = true;
      } else if (ev == E::value && top_key == "version") {
        check_version(r, parsed, root);
        version_ok = true;
      } else if (top_key == "tasks" && (ev == E::array_start || ev == E::object_start)) {
        tasks_is_array = ev == E::array_start;
      }
      return true;
    }
    if (depth == 2 && top_key == "tasks" && tasks_is_array && format_ok && version_ok &&
        (ev == E::object_end || ev == E::array_end || ev == E::value)) {
      const Path p = tasks_path[task_index++];
      streamed.push_back(read_task(r, parsed, p));
      return false;
    }
    if (depth == 2 && top_key == "tasks" && tasks_is_array &&
        (ev == E::object_end || ev == E::array_end || ev == E::value))
      ++task_index;
    return true;
  };
  json doc;
  try {
    doc = json::parse(text, callback);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", where, e.what());
  }
  r.object(doc, root);
  check_format(r, r.at(doc, "format", root), root);
  check_version(r, r.at(doc, "version", root), root);

  Plan plan;
  plan.model = r.string(doc, "model", root);
  plan.context = int32_t(r.integer(doc, "context", root, 1, kMaxId));
  plan.target = read_target(r, r.at(doc, "target", root), root / "target");
  plan.resources = read_resources(r, r.at(doc, "resources", root), root / "resources");
  plan.config = r.object(r.at(doc, "config", root), root / "config");
  check_depth(r, plan.config, root / "config", 0);

  auto each = [&](const char* key, auto&& fn) {
    const Path ap = root / key;
    const json& a = r.array(r.at(doc, key, root), ap);
    for (size_t i = 0; i < a.size(); ++i) fn(a[i], ap[i]);
    return a.size();
  };
  plan.buffers.reserve(r.array(r.at(doc, "buffers", root), root / "buffers").size());
  each("buffers", [&](const json& j, const Path& p) { plan.buffers.push_back(read_buffer(r, j, p)); });
  each("counters", [&](const json& j, const Path& p) {
    r.object(j, p);
    plan.counters.push_back({int32_t(r.integer(j, "id", p, 0, kMaxId)), r.string(j, "name", p)});
  });
  // Tasks before the version (none, in files this writer made) are still in the document.
  plan.tasks.reserve(r.array(r.at(doc, "tasks", root), tasks_path).size() + streamed.size());
  each("tasks", [&](const json& j, const Path& p) { plan.tasks.push_back(read_task(r, j, p)); });
  for (Task& t : streamed) plan.tasks.push_back(std::move(t));
  each("queues", [&](const json& j, const Path& p) {
    r.array(j, p);
    std::vector<int32_t> q;
    q.reserve(j.size());
    for (size_t i = 0; i < j.size(); ++i) q.push_back(int32_t(r.integer(j[i], p[i], 0, kMaxId)));
    plan.queues.push_back(std::move(q));
  });
  each("outputs", [&](const json& j, const Path& p) { plan.outputs.push_back(int32_t(r.integer(j, p, 0, kMaxId))); });
  plan.token_input = int32_t(r.integer(doc, "token_input", root, -1, kMaxId));
  plan.token_output = int32_t(r.integer(doc, "token_output", root, -1, kMaxId));
  return plan;
}

Plan load_plan(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open plan file", path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail("{}: read error", path);
  return parse_plan_json(ss.str(), path);
}

void save_plan(const Plan& plan, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("{}: cannot create plan file", path);
  out << plan_to_json(plan);
  out.close();
  if (!out) fail("{}: write error", path);
}

}  // namespace tessera

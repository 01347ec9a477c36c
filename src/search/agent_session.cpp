// Each operation reads what it needs from the store on every request (nothing cached but
// each run's setup), so two sessions, or a session beside a running tuner, see each
// other's candidates. A proposal's check seed is drawn when it is proposed and recorded,
// so its evaluation is reproducible from the row like the tuner's.
#include "search/agent_session.h"

#include <map>
#include <optional>
#include <memory>
#include <random>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"
#include "plan/lower.h"
#include "plan/plan_json.h"
#include "search/knob_document.h"
#include "search/tune_loop.h"

namespace tessera {

namespace {

using agents::AgentOpError;
using nlohmann::json;

class Session {
 public:
  Session(TuneStore& store, MeasurerForRun measurer) : store_(store), measurer_(std::move(measurer)) {}
  bool measures() const { return bool(measurer_); }

  json propose(const json& req) {
    const CandidateRecord parent = candidate(agents::integer_field(req, "parent", true));
    const bool has_knobs = req.contains("knobs"), has_plan = req.contains("plan");
    if (has_knobs == has_plan) throw AgentOpError("bad_request", "give exactly one of \"knobs\" and \"plan\"");
    const RunSetup& setup = run_setup_of(parent.run);
    CandidateRecord c;
    c.run = parent.run;
    c.parent = parent.id;
    c.op = "agent";
    c.op_params = {{"source", "outside agent"}, {"note", agents::string_field(req, "note", false)}};
    c.check_seed = std::random_device{}() >> 1;
    if (has_knobs) {
      if (parent.knobs.is_null())
        throw AgentOpError("rejected", fmt::format("candidate {} is a whole plan; propose a plan as its child, or "
                                                   "knobs as the child of a knob-set candidate", parent.id));
      KnobSet k;
      try {
        k = knob_set_from_flat(setup.space, req["knobs"], setup.space.from_json(parent.knobs));
        (void)setup.space.to_config(k);  // every value parses as its knob's type
      } catch (const Error& e) {
        throw AgentOpError("rejected", e.what());
      }
      const std::string text = knob_set_text(k);
      for (const CandidateRecord& o : store_.candidates(parent.run)) {
        if (o.knobs.is_null()) continue;
        if (knob_set_text(setup.space.from_json(o.knobs)) == text)
          throw AgentOpError("rejected", fmt::format("that knob set is candidate {} already ({})", o.id, text));
      }
      c.knobs = setup.space.to_config(k).to_json();
      c.op_params["changed"] = knob_changes(setup.space.from_json(parent.knobs), k);
    } else {
      const json& pj = req["plan"];
      Plan plan;
      try {
        plan = parse_plan_json(pj.is_string() ? pj.get<std::string>() : pj.dump(), "proposed plan");
      } catch (const Error& e) {
        throw AgentOpError("rejected", e.what());
      }
      const std::string text = plan_to_json(plan);
      c.plan_hash = content_hash(text);
      store_.add_plan(c.plan_hash, text);  // before the row: a pending plan candidate must find its plan
    }
    const int64_t id = store_.add_candidate(c);
    return {{"candidate", id}, {"run", c.run}, {"parent", c.parent}, {"status", "pending"}};
  }

  json evaluate(const json& req) {
    CandidateRecord c = candidate(agents::integer_field(req, "candidate", true));
    if (c.status != CandidateStatus::Pending) {
      json v = verdict(c);
      v["already_evaluated"] = true;
      return v;
    }
    const RunSetup& setup = run_setup_of(c.run);
    Proposal p;
    p.parent = c.parent;
    p.op = c.op;
    p.op_params = c.op_params;
    if (!c.knobs.is_null()) {
      p.knobs = setup.space.from_json(c.knobs);
    } else {
      auto text = store_.plan_json(c.plan_hash);
      if (!text) fail("candidate {}: its plan {} is not in the database", c.id, c.plan_hash);
      p.plan = std::make_shared<const Plan>(parse_plan_json(*text, fmt::format("candidate {}'s plan", c.id)));
    }
    EvalSettings es = setup.eval;
    if (measurer_) es.measurer = measurer_(store_.run(c.run), es);
    Evaluation ev = evaluate_candidate(p, setup.space, es, c.check_seed);
    interleave_with_leader(ev, c, setup, es);
    c.plan_hash = ev.plan_hash.empty() ? c.plan_hash : ev.plan_hash;
    c.status = ev.status;
    c.cost_s = ev.cost_s;
    c.spread = ev.spread;
    c.cost_kind = ev.cost_kind;
    c.log = ev.log;
    c.kind_times = kind_times_to_json(ev.kinds);
    std::string plan_text;
    if (ev.plan && !p.knobs) plan_text = plan_to_json(*ev.plan);
    store_.finish_candidate(c, plan_text.empty() ? nullptr : &plan_text);
    record_calibration(store_, es, ev);
    return verdict(*store_.candidate(c.id));
  }

  // The ladder's last rung as the tuning loop runs it (interleave_with_best), against the
  // run's leader: its lowest measured, verified candidate other than this one. A knob-set
  // leader's plan is not stored; it is lowered again from its knobs (the same plan: lowering
  // is deterministic).
  void interleave_with_leader(Evaluation& ev, const CandidateRecord& c, const RunSetup& setup, const EvalSettings& es) {
    if (!es.measurer) return;
    std::optional<CandidateRecord> leader;
    for (CandidateRecord& o : store_.candidates(c.run))
      if (o.id != c.id && o.status == CandidateStatus::Ok && o.cost_kind == CostKind::Measured &&
          (!leader || o.cost_s < leader->cost_s))
        leader = std::move(o);
    if (!leader) return;
    interleave_with_best(ev, es.measurer, BestSoFar{leader->id, leader->cost_s, leader->spread, leader->cost_kind},
                         [&]() -> std::shared_ptr<const Plan> {
                           const std::string label = fmt::format("candidate {}'s plan", leader->id);
                           if (auto text = store_.plan_json(leader->plan_hash))
                             return std::make_shared<const Plan>(parse_plan_json(*text, label));
                           if (leader->knobs.is_null()) return nullptr;
                           const LowerConfig k = setup.space.to_config(setup.space.from_json(leader->knobs));
                           return std::make_shared<const Plan>(lower(es.model, es.target, k, es.context, es.model_label));
                         });
  }

  json leaderboard(const json& req) {
    const int64_t k = agents::integer_field(req, "k", false, 10);
    if (k < 1 || k > 1000) throw AgentOpError("bad_request", fmt::format("field \"k\" must be in [1, 1000], not {}", k));
    const std::vector<RunRecord> runs = store_.runs();
    if (runs.empty()) throw AgentOpError("not_found", fmt::format("tuning database '{}' has no run", store_.path()));
    const int64_t run = agents::integer_field(req, "run", false, runs.back().id);
    (void)store_.run(run);
    std::vector<CandidateRecord> ok;
    for (CandidateRecord& c : store_.candidates(run))
      if (c.status == CandidateStatus::Ok && c.cost_kind != CostKind::None) ok.push_back(std::move(c));
    // Measured before predicted, each ranked among its own kind; ties to the earlier candidate.
    std::stable_sort(ok.begin(), ok.end(), [](const CandidateRecord& a, const CandidateRecord& b) {
      if (a.cost_kind != b.cost_kind) return a.cost_kind == CostKind::Measured;
      return a.cost_s < b.cost_s;
    });
    json entries = json::array();
    std::map<CostKind, int> rank;
    for (const CandidateRecord& c : ok) {
      if (rank[c.cost_kind] >= k) continue;
      json e = brief(c);
      e["rank"] = ++rank[c.cost_kind];
      entries.push_back(e);
    }
    return {{"run", run}, {"entries", entries},
            {"note", "only candidates the ladder verified (status ok); measured and predicted costs are ranked "
                     "separately, measured first"}};
  }

  json logs(const json& req) {
    const CandidateRecord c = candidate(agents::integer_field(req, "candidate", true));
    json out = verdict(c);
    out["op_params"] = c.op_params;
    out["check_seed"] = c.check_seed;
    out["created_utc"] = c.created_utc;
    out["finished_utc"] = c.finished_utc;
    json ts = json::array();
    for (const TranscriptRecord& t : store_.transcripts(c.run, c.id)) ts.push_back(transcript_json(t));
    out["transcripts"] = ts;
    // Calls that produced nothing but preceded this candidate (the agents fell back).
    if (c.op_params.contains("agent_failure")) {
      const json& ids = c.op_params["agent_failure"]["transcripts"];
      json unused = json::array();
      for (const TranscriptRecord& t : store_.transcripts(c.run, -1))
        for (const json& i : ids)
          if (i.is_number_integer() && i.get<int64_t>() == t.id) unused.push_back(transcript_json(t));
      out["unused_transcripts"] = unused;
    }
    return out;
  }

 private:
  CandidateRecord candidate(int64_t id) {
    auto c = store_.candidate(id);
    if (!c) throw AgentOpError("not_found", fmt::format("tuning database '{}' has no candidate {}", store_.path(), id));
    return *c;
  }

  const RunSetup& run_setup_of(int64_t run) {
    auto it = setups_.find(run);
    if (it == setups_.end()) it = setups_.emplace(run, std::make_unique<RunSetup>(recorded_run_setup(store_, store_.run(run)))).first;
    return *it->second;
  }

  static json knob_changes(const KnobSet& from, const KnobSet& to) {
    json out = json::object();
    for (const auto& [k, v] : to)
      if (!from.count(k) || from.at(k) != v) out[k] = v;
    return out;
  }

  static json brief(const CandidateRecord& c) {
    json j{{"candidate", c.id}, {"run", c.run}, {"parent", c.parent >= 0 ? json(c.parent) : json(nullptr)},
           {"op", c.op}, {"status", status_name(c.status)}, {"knobs", c.knobs}, {"plan_hash", c.plan_hash}};
    if (c.cost_kind != CostKind::None) {
      j["cost_ms"] = c.cost_s * 1e3;
      j["cost_kind"] = cost_kind_name(c.cost_kind);
      if (c.cost_kind == CostKind::Measured) j["spread"] = c.spread;
    }
    return j;
  }

  static json verdict(const CandidateRecord& c) {
    json j = brief(c);
    j["log"] = c.log;
    return j;
  }

  static json transcript_json(const TranscriptRecord& t) {
    return {{"id", t.id}, {"role", t.role}, {"ok", t.ok}, {"error", t.error}, {"tokens_in", t.tokens_in},
            {"tokens_out", t.tokens_out}, {"usage_reported", t.usage_reported}, {"latency_s", t.latency_s},
            {"created_utc", t.created_utc}, {"transcript", t.transcript}};
  }

  TuneStore& store_;
  MeasurerForRun measurer_;
  std::map<int64_t, std::unique_ptr<RunSetup>> setups_;
};

json object_schema(json properties, std::vector<std::string> required) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}

}  // namespace

agents::AgentOpTable agent_session_ops(TuneStore& store, MeasurerForRun measurer) {
  auto s = std::make_shared<Session>(store, std::move(measurer));
  const json id = {{"type", "integer"}, {"minimum", 1}};
  agents::AgentOpTable t;
  t["propose"] = {"propose a child of a candidate: a knob set (only the knobs to change; the others are the "
                  "parent's) or a whole plan (plan JSON); recorded pending, ranked nowhere until evaluated",
                  object_schema({{"parent", id},
                                 {"knobs", {{"type", "object"}, {"additionalProperties", {{"type", {"integer", "boolean", "string"}}}}}},
                                 {"plan", {{"type", {"object", "string"}}}},
                                 {"note", {{"type", "string"}}}},
                                {"parent"}),
                  [s](const json& r) { return s->propose(r); }, ""};
  t["evaluate"] = {s->measures()
                       ? "run the ladder on a pending candidate (lower or parse, validate, emulate against the CPU "
                         "reference, verify against the reference on the GPU and time it) and record the verdict"
                       : "run the ladder on a pending candidate (lower or parse, validate, emulate against the CPU "
                         "reference, predicted cost) and record the verdict",
                   object_schema({{"candidate", id}}, {"candidate"}), [s](const json& r) { return s->evaluate(r); }, ""};
  t["leaderboard"] = {"the best verified candidates of a run (default: the last), cost labelled measured or predicted",
                      object_schema({{"k", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}}}, {"run", id}}, {}),
                      [s](const json& r) { return s->leaderboard(r); }, ""};
  t["logs"] = {"a candidate's verdict, log, operator parameters and LLM transcripts",
               object_schema({{"candidate", id}}, {"candidate"}), [s](const json& r) { return s->logs(r); }, ""};
  return t;
}

}  // namespace tessera

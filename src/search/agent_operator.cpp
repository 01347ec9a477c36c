// The agent steps are written as "call, then use the reply inside a callback" so a reply
// that cannot be used (no fenced block, anchors moved, an edit outside the marks, a knob
// that does not exist, a knob set already tried) is recorded with its reason on the very
// transcript that produced it. Errors that no reply can cure (a missing prompt file) switch
// the agents off for the invocation instead of failing every later draw the same way.
#include "search/agent_operator.h"

#include <fmt/format.h>

#include "agents/anchors.h"
#include "agents/fenced_code.h"
#include "agents/prompt.h"
#include "core/error.h"
#include "search/knob_document.h"

namespace tessera {

namespace {

// A reply or a call that produced nothing usable; the proposal falls back.
struct AgentFailure : Error {
  using Error::Error;
};

nlohmann::json changed_knobs(const KnobSet& from, const KnobSet& to) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : to)
    if (!from.count(k) || from.at(k) != v) out[k] = v;
  return out;
}

void refuse_unusable(const SearchTree& tree, const KnobSpace& space, const KnobSet& from, const KnobSet& to) {
  if (to == from) fail("the edit changes no knob");
  (void)space.to_config(to);  // every value parses as its knob's type (the lowering judges the rest)
  if (tree.seen(to)) fail("the edit gives a knob set the search already tried ({})", knob_set_text(to));
}

}  // namespace

struct AgentOperator::Draft {
  std::vector<int64_t> transcripts;
  std::string failure;
};

AgentOperator::AgentOperator(KnobSpace space, AgentSettings settings, AgentLoopHooks hooks,
                             std::shared_ptr<VariationOperator> fallback, AgentUsage used, std::set<int64_t> repaired)
    : space_(std::move(space)),
      s_(std::move(settings)),
      hooks_(std::move(hooks)),
      fallback_(std::move(fallback)),
      usage_(used),
      repaired_(std::move(repaired)) {
  if (!s_.client) fail("agent operator: no LLM client");
  if (!(s_.rate >= 0 && s_.rate <= 1)) fail("agent operator: rate {} is not in [0, 1]", s_.rate);
  if (s_.prompts_dir.empty()) s_.prompts_dir = agents::default_prompts_dir();
}

bool AgentOperator::affordable(int calls) const {
  if (s_.budget_calls > 0 && usage_.calls + calls > s_.budget_calls) return false;
  if (s_.budget_tokens > 0 && usage_.tokens >= s_.budget_tokens) return false;
  return true;
}

std::optional<int64_t> AgentOperator::repair_due(const SearchTree& tree) const {
  const auto& ids = tree.ids();
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    const TreeNode& n = tree.node(*it);
    if (n.op == "llm" && n.parent >= 0 && n.has_knobs && tree.failed_child(*it) && !repaired_.count(*it)) return *it;
  }
  return std::nullopt;
}

std::string AgentOperator::call(agents::AgentRole role, const std::vector<agents::ChatMessage>& messages,
                                const std::function<void(const std::string&)>& use, Draft& d) {
  const agents::Transcript t = s_.client->complete(role, messages);
  TranscriptRecord rec;
  rec.role = agents::role_name(role);
  rec.ok = t.ok();
  rec.error = t.error;
  rec.tokens_in = t.tokens_in;
  rec.tokens_out = t.tokens_out;
  rec.usage_reported = t.usage_reported;
  rec.latency_s = t.latency_s;
  rec.transcript = t.to_json();
  usage_.calls += 1;
  usage_.tokens += t.tokens_in + t.tokens_out;
  std::string failure;
  if (!t.ok()) {
    usage_.failed_calls += 1;
    failure = fmt::format("{} call failed: {}", rec.role, t.error);
    if (++consecutive_failures_ >= s_.max_consecutive_failures) usage_.switched_off = true;
  } else {
    consecutive_failures_ = 0;
    try {
      use(t.text);
    } catch (const Error& e) {
      failure = fmt::format("{} reply not used: {}", rec.role, e.what());
    } catch (const nlohmann::json::exception& e) {
      failure = fmt::format("{} reply not used: {}", rec.role, e.what());
    }
    rec.error = failure;
  }
  d.transcripts.push_back(hooks_.record(rec));
  if (!failure.empty()) throw AgentFailure(failure);
  return t.text;
}

std::optional<Proposal> AgentOperator::plan_and_code(const SearchTree& tree, int64_t parent, Draft& d) {
  using agents::AgentRole;
  using agents::AnchorLanguage;
  const TreeNode& pn = tree.node(parent);
  if (!pn.has_knobs) return std::nullopt;
  const SearchTreeView view(tree, space_, hooks_.candidate);
  const std::string doc = knob_document(space_, pn.knobs).dump(2);
  agents::PromptInputs in;
  in.language = "json";
  in.target = hooks_.target + "\n\nKnob values this search offers (group/knob: values; 0 lets the lowering choose):\n" +
              knob_values_text(space_) + "\nThe candidate's lowered plan:\n" +
              (hooks_.describe ? hooks_.describe(pn.knobs) : std::string("(not available)\n"));

  std::string anchored;
  std::vector<std::string> advice;
  call(AgentRole::Plan,
       agents::build_messages(s_.prompts_dir, agents::build_context(view, parent, AgentRole::Plan, s_.context), in),
       [&](const std::string& text) {
         anchored = agents::extract_fenced_block(text, "json");
         agents::check_anchors_only(doc, anchored, AnchorLanguage::Json);
         for (const agents::AnchorSpan& s : agents::parse_anchors(anchored, AnchorLanguage::Json)) advice.push_back(s.advice);
       },
       d);

  in.anchored = anchored;
  KnobSet child;
  call(AgentRole::Code,
       agents::build_messages(s_.prompts_dir, agents::build_context(view, parent, AgentRole::Code, s_.context), in),
       [&](const std::string& text) {
         const std::string edited =
             agents::apply_anchored_edit(anchored, agents::extract_fenced_block(text, "json"), AnchorLanguage::Json);
         child = knob_set_from_document(space_, nlohmann::json::parse(edited), pn.knobs);
         refuse_unusable(tree, space_, pn.knobs, child);
       },
       d);

  Proposal p;
  p.parent = parent;
  p.op = "llm";
  p.op_params = {{"advice", advice}, {"anchored", nlohmann::json::parse(anchored)}, {"changed", changed_knobs(pn.knobs, child)}};
  p.knobs = std::move(child);
  return p;
}

std::optional<Proposal> AgentOperator::repair(const SearchTree& tree, int64_t failed, Draft& d) {
  using agents::AgentRole;
  using agents::AnchorLanguage;
  const TreeNode& fn = tree.node(failed);
  std::optional<CandidateRecord> rec = hooks_.candidate ? hooks_.candidate(failed) : std::nullopt;
  if (!rec || !rec->op_params.contains("anchored"))
    fail("candidate {} has no recorded anchors to repair within", failed);
  // The failed knob set with the plan agent's marks put back where they were.
  nlohmann::json marked = knob_document(space_, fn.knobs);
  for (const agents::AnchorSpan& s : agents::parse_anchors(rec->op_params["anchored"].dump(2), AnchorLanguage::Json))
    marked[nlohmann::json::json_pointer(s.pointer)][std::string(agents::kJsonImproveKey)] = s.advice;
  const std::string anchored = marked.dump(2);

  const SearchTreeView view(tree, space_, hooks_.candidate);
  agents::PromptInputs in;
  in.language = "json";
  in.target = hooks_.target + "\n\nKnob values this search offers (group/knob: values; 0 lets the lowering choose):\n" +
              knob_values_text(space_);
  in.anchored = anchored;
  in.diagnostics = fmt::format("The ladder's verdict on candidate {}: {}\n{}", failed, status_name(fn.status), rec->log);
  KnobSet child;
  call(AgentRole::Debug,
       agents::build_messages(s_.prompts_dir, agents::build_context(view, failed, AgentRole::Debug, s_.context), in),
       [&](const std::string& text) {
         const std::string edited =
             agents::apply_anchored_edit(anchored, agents::extract_fenced_block(text, "json"), AnchorLanguage::Json);
         child = knob_set_from_document(space_, nlohmann::json::parse(edited), fn.knobs);
         refuse_unusable(tree, space_, fn.knobs, child);
       },
       d);

  Proposal p;
  p.parent = fn.parent;
  p.op = "llm_debug";
  p.op_params = {{"repairs", failed}, {"changed", changed_knobs(fn.knobs, child)}};
  p.knobs = std::move(child);
  return p;
}

std::optional<Proposal> AgentOperator::propose(const SearchTree& tree, const std::vector<int64_t>& parents, SearchRng& rng) {
  Draft d;
  std::optional<Proposal> p;
  auto attempt = [&](const std::function<std::optional<Proposal>()>& step) {
    try {
      p = step();
    } catch (const AgentFailure& e) {
      d.failure = e.what();
    } catch (const Error& e) {
      // Not the endpoint's doing (prompts, anchors on record): it would fail every draw alike.
      d.failure = fmt::format("agents switched off: {}", e.what());
      usage_.switched_off = true;
    }
  };
  if (!usage_.switched_off) {
    if (auto failed = repair_due(tree); failed && affordable(1)) {
      repaired_.insert(*failed);
      attempt([&] { return repair(tree, *failed, d); });
    } else if (!parents.empty() && affordable(2) && rng.chance(s_.rate)) {
      attempt([&] { return plan_and_code(tree, parents[0], d); });
    }
  }
  if (p) {
    p->op_params["transcripts"] = d.transcripts;
    usage_.proposals += 1;
    return p;
  }
  if (!d.failure.empty()) usage_.last_failure = d.failure;
  std::optional<Proposal> fb = fallback_->propose(tree, parents, rng);
  // The calls that produced nothing are stored unlinked; the fallback names them.
  if (fb && (!d.transcripts.empty() || !d.failure.empty()))
    fb->op_params["agent_failure"] = {{"message", d.failure}, {"transcripts", d.transcripts}};
  return fb;
}

}  // namespace tessera

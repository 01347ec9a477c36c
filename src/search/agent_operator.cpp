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

namespace tessera {

namespace {

// A reply or a call that produced nothing usable; the proposal falls back.
struct AgentFailure : Error {
  using Error::Error;
};

}  // namespace

struct AgentOperator::Draft {
  std::vector<int64_t> transcripts;
  std::string failure;
};

AgentOperator::AgentOperator(std::shared_ptr<const AgentSubject> subject, AgentSettings settings, AgentLoopHooks hooks,
                             std::shared_ptr<VariationOperator> fallback, AgentUsage used, std::set<int64_t> repaired)
    : subject_(std::move(subject)),
      s_(std::move(settings)),
      hooks_(std::move(hooks)),
      fallback_(std::move(fallback)),
      usage_(used),
      repaired_(std::move(repaired)) {
  if (!subject_) fail("agent operator: nothing to edit (no subject)");
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
    if (n.op == "llm" && n.parent >= 0 && subject_->editable(n) && tree.failed_child(*it) && !repaired_.count(*it))
      return *it;
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
  const TreeNode& pn = tree.node(parent);
  if (!subject_->editable(pn)) return std::nullopt;
  const agents::AnchorLanguage lang = agents::parse_anchor_language(subject_->language());
  const SearchTreeView view(tree, [this](const TreeNode& n) { return subject_->content(n); }, hooks_.candidate);
  const std::string doc = subject_->content(pn);
  agents::PromptInputs in;
  in.language = subject_->language();
  in.target = hooks_.target + "\n\n" + subject_->target_lines(pn);

  std::string anchored;
  std::vector<std::string> advice;
  call(AgentRole::Plan,
       agents::build_messages(s_.prompts_dir, agents::build_context(view, parent, AgentRole::Plan, s_.context), in),
       [&](const std::string& text) {
         anchored = agents::extract_fenced_block(text, in.language);
         agents::check_anchors_only(doc, anchored, lang);
         for (const agents::AnchorSpan& s : agents::parse_anchors(anchored, lang)) advice.push_back(s.advice);
       },
       d);

  in.anchored = anchored;
  Proposal p;
  p.parent = parent;
  p.op = "llm";
  call(AgentRole::Code,
       agents::build_messages(s_.prompts_dir, agents::build_context(view, parent, AgentRole::Code, s_.context), in),
       [&](const std::string& text) {
         const std::string reply = agents::extract_fenced_block(text, in.language);
         subject_->make_child(tree, pn, agents::apply_anchored_edit(anchored, reply, lang), reply, p);
       },
       d);
  p.op_params["advice"] = advice;
  p.op_params["anchored"] =
      lang == agents::AnchorLanguage::Json ? nlohmann::json::parse(anchored) : nlohmann::json(anchored);
  return p;
}

std::optional<Proposal> AgentOperator::repair(const SearchTree& tree, int64_t failed, Draft& d) {
  using agents::AgentRole;
  const TreeNode& fn = tree.node(failed);
  const agents::AnchorLanguage lang = agents::parse_anchor_language(subject_->language());
  std::optional<CandidateRecord> rec = hooks_.candidate ? hooks_.candidate(failed) : std::nullopt;
  if (!rec) fail("candidate {} is not in the store", failed);
  const std::string anchored = subject_->marked_failure(fn, *rec);

  const SearchTreeView view(tree, [this](const TreeNode& n) { return subject_->content(n); }, hooks_.candidate);
  agents::PromptInputs in;
  in.language = subject_->language();
  in.target = hooks_.target + "\n\n" + subject_->target_lines(fn);
  in.anchored = anchored;
  in.diagnostics = fmt::format("The ladder's verdict on candidate {}: {}\n{}", failed, status_name(fn.status), rec->log);
  Proposal p;
  p.parent = fn.parent;
  p.op = "llm_debug";
  call(AgentRole::Debug,
       agents::build_messages(s_.prompts_dir, agents::build_context(view, failed, AgentRole::Debug, s_.context), in),
       [&](const std::string& text) {
         const std::string reply = agents::extract_fenced_block(text, in.language);
         subject_->make_child(tree, fn, agents::apply_anchored_edit(anchored, reply, lang), reply, p);
       },
       d);
  p.op_params["repairs"] = failed;
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
  std::optional<Proposal> fb = fallback_ ? fallback_->propose(tree, parents, rng) : std::nullopt;
  // The calls that produced nothing are stored unlinked; the fallback names them.
  if (fb && (!d.transcripts.empty() || !d.failure.empty()))
    fb->op_params["agent_failure"] = {{"message", d.failure}, {"transcripts", d.transcripts}};
  return fb;
}

}  // namespace tessera

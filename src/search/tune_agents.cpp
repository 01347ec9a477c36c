// The prompt's "target" lines say how costs are obtained (measured on a GPU or predicted by
// the cost model) because an agent reading a cost must know which it is, as people must.
#include "search/tune_agents.h"

#include <fmt/format.h>

#include "core/error.h"
#include "plan/lower.h"
#include "search/plan_summary.h"

namespace tessera {

AgentHistory agent_history(const TuneStore& store, const RunRecord& run) {
  AgentHistory h;
  if (run.id <= 0) return h;
  for (const TranscriptRecord& t : store.transcripts(run.id, -1)) {
    h.used.calls += 1;
    h.used.tokens += t.tokens_in + t.tokens_out;
  }
  for (const CandidateRecord& c : store.candidates(run.id))
    if (c.op == "llm_debug" && c.op_params.contains("repairs") && c.op_params["repairs"].is_number_integer())
      h.repaired.insert(c.op_params["repairs"].get<int64_t>());
  return h;
}

AgentLoopHooks agent_store_hooks(TuneStore& store, const RunRecord& run) {
  AgentLoopHooks hooks;
  hooks.record = [&store, &run](const TranscriptRecord& t) {
    TranscriptRecord r = t;
    r.run = run.id;
    return store.add_transcript(r);
  };
  hooks.candidate = [&store](int64_t id) { return store.candidate(id); };
  return hooks;
}

std::shared_ptr<AgentOperator> install_agents(OperatorSet& ops, const KnobSpace& space, const EvalSettings& es,
                                              const AgentSettings& settings, TuneStore& store, const RunRecord& run) {
  AgentLoopHooks hooks = agent_store_hooks(store, run);
  auto describe = [&space, &es](const KnobSet& k) {
    try {
      const Plan plan = lower(es.model, es.target, space.to_config(k), es.context, es.model_label);
      return plan_summary(plan, es.position);
    } catch (const Error& e) {
      return fmt::format("(the knob set does not lower: {})\n", e.what());
    }
  };
  hooks.target = fmt::format(
      "model {} ({} layers, hidden {}), GPU target {} with {} SMs, decode step at position {} with a {}-position KV "
      "cache. Costs are {}; lower is better.",
      es.model_label, es.model.num_layers, es.model.hidden_size, es.target.arch, es.target.sms, es.position,
      es.context,
      es.measurer ? "measured on the GPU (" + es.measurer->name() + ")" : std::string("predicted by the cost model, not measured"));
  const AgentHistory history = agent_history(store, run);
  auto op = std::make_shared<AgentOperator>(make_knob_subject(space, describe), settings, std::move(hooks), ops.mutate,
                                            history.used, history.repaired);
  ops.mutate = op;
  return op;
}

void link_proposal_transcripts(TuneStore& store, const Proposal& p, int64_t id) {
  auto it = p.op_params.find("transcripts");
  if (it == p.op_params.end() || !it->is_array()) return;
  store.link_transcripts(it->get<std::vector<int64_t>>(), id);
}

}  // namespace tessera

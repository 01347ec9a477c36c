// What the LLM agents edit inside the search loop, behind one interface so the plan /
// code / debug flow (agent_operator.h) is written once: a knob set, shown as the knob
// document (knob_document.h, JSON anchors), or an instruction variant, shown as its CUDA
// source (the variant library, src/variants/; source anchors). A subject says how a node
// reads to the agents, what the prompt's target lines add, how an edit becomes a child
// proposal, and how a failed child is marked again for the debug agent.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "search/agent_tree_view.h"
#include "search/candidate_tree.h"
#include "search/knob_space.h"
#include "search/operators.h"
#include "variants/variant_spec.h"

namespace tessera {

class AgentSubject {
 public:
  virtual ~AgentSubject() = default;
  virtual std::string language() const = 0;  // the anchors' and the code fence's language: "json" or "cuda"
  virtual bool editable(const TreeNode& n) const = 0;  // whether the agents can work on this node
  // The node as the agents read and edit it. Throws tessera::Error when not editable.
  virtual std::string content(const TreeNode& n) const = 0;
  // Lines the prompt's target adds for this node (the knob values offered, the contract).
  virtual std::string target_lines(const TreeNode& n) const = 0;
  // The child an edit makes: `edited` with the anchors removed, `reply` the agent's block as
  // it came (anchors kept; JSON may be a patch). Fills p.knobs or p.op_params. Throws
  // tessera::Error when the edit is unusable (changes nothing, already tried, does not parse).
  virtual void make_child(const SearchTree& tree, const TreeNode& from, const std::string& edited,
                          const std::string& reply, Proposal& p) const = 0;
  // What the debug agent edits: the failed candidate with the plan agent's marks back in
  // place, from what its proposal recorded (op_params). Throws when nothing was recorded.
  virtual std::string marked_failure(const TreeNode& failed, const CandidateRecord& record) const = 0;
};

// Knob sets. `describe` (may be empty) summarises a knob set's lowered plan for the plan agent.
std::shared_ptr<AgentSubject> make_knob_subject(const KnobSpace& space,
                                                std::function<std::string(const KnobSet&)> describe);

// Instruction variants of `spec`. A candidate's source is in its op_params.source (the
// store), read through `lookup`.
std::shared_ptr<AgentSubject> make_variant_subject(const variants::VariantSpec& spec, CandidateLookup lookup);

// A variant candidate's source as its row holds it; throws naming the candidate when absent.
std::string variant_source_of(const CandidateRecord& record);

}  // namespace tessera

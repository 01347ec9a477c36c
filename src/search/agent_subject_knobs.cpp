// Knob sets as the agents' subject. The plan agent's marks are "__improve__" members of
// the knob document's groups; the code agent answers with the whole document or a JSON
// Patch, held to the marks by apply_anchored_edit before it gets here.
#include <fmt/format.h>

#include "agents/anchors.h"
#include "core/error.h"
#include "search/agent_subject.h"
#include "search/knob_document.h"

namespace tessera {

namespace {

nlohmann::json changed_knobs(const KnobSet& from, const KnobSet& to) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : to)
    if (!from.count(k) || from.at(k) != v) out[k] = v;
  return out;
}

class KnobSubject : public AgentSubject {
 public:
  KnobSubject(KnobSpace space, std::function<std::string(const KnobSet&)> describe)
      : space_(std::move(space)), describe_(std::move(describe)) {}

  std::string language() const override { return "json"; }
  bool editable(const TreeNode& n) const override { return n.has_knobs; }

  std::string content(const TreeNode& n) const override {
    if (!n.has_knobs) fail("candidate {} is a whole plan, not a knob set", n.id);
    return knob_document(space_, n.knobs).dump(2);
  }

  std::string target_lines(const TreeNode& n) const override {
    std::string s = "Knob values this search offers (group/knob: values; 0 lets the lowering choose):\n" +
                    knob_values_text(space_);
    if (describe_ && n.has_knobs) s += "\nThe candidate's lowered plan:\n" + describe_(n.knobs);
    return s;
  }

  void make_child(const SearchTree& tree, const TreeNode& from, const std::string& edited, const std::string& reply,
                  Proposal& p) const override {
    const KnobSet child = knob_set_from_document(space_, nlohmann::json::parse(edited), from.knobs);
    if (child == from.knobs) fail("the edit changes no knob");
    (void)space_.to_config(child);  // every value parses as its knob's type (the lowering judges the rest)
    if (tree.seen(child)) fail("the edit gives a knob set the search already tried ({})", knob_set_text(child));
    (void)reply;  // the knob set is the whole record
    p.op_params["changed"] = changed_knobs(from.knobs, child);
    p.knobs = child;
  }

  std::string marked_failure(const TreeNode& failed, const CandidateRecord& rec) const override {
    if (!rec.op_params.contains("anchored")) fail("candidate {} has no recorded anchors to repair within", failed.id);
    // The failed knob set with the plan agent's marks put back where they were.
    nlohmann::json marked = knob_document(space_, failed.knobs);
    for (const agents::AnchorSpan& s :
         agents::parse_anchors(rec.op_params["anchored"].dump(2), agents::AnchorLanguage::Json))
      marked[nlohmann::json::json_pointer(s.pointer)][std::string(agents::kJsonImproveKey)] = s.advice;
    return marked.dump(2);
  }

 private:
  KnobSpace space_;
  std::function<std::string(const KnobSet&)> describe_;
};

}  // namespace

std::shared_ptr<AgentSubject> make_knob_subject(const KnobSpace& space,
                                                std::function<std::string(const KnobSet&)> describe) {
  return std::make_shared<KnobSubject>(space, std::move(describe));
}

}  // namespace tessera

// Instruction variants as the agents' subject: the node's content is its CUDA source, the
// plan agent's marks are source anchors (comments, so anchored code still compiles), and
// the code agent's answer is kept with its anchors (op_params.edited_anchored) so a failed
// variant can be handed to the debug agent with the marks where the code agent left them.
#include <fmt/format.h>

#include "core/error.h"
#include "search/agent_subject.h"
#include "search/store.h"

namespace tessera {

std::string variant_source_of(const CandidateRecord& rec) {
  if (!rec.op_params.is_object() || !rec.op_params.contains("source") || !rec.op_params["source"].is_string())
    fail("candidate {} holds no variant source (op_params.source)", rec.id);
  return rec.op_params["source"].get<std::string>();
}

namespace {

class VariantSubject : public AgentSubject {
 public:
  VariantSubject(variants::VariantSpec spec, CandidateLookup lookup) : spec_(std::move(spec)), lookup_(std::move(lookup)) {}

  std::string language() const override { return "cuda"; }
  bool editable(const TreeNode& n) const override { return !n.has_knobs; }

  std::string content(const TreeNode& n) const override {
    std::optional<CandidateRecord> rec = lookup_ ? lookup_(n.id) : std::nullopt;
    if (!rec) fail("candidate {} is not in the store", n.id);
    return variant_source_of(*rec);
  }

  std::string target_lines(const TreeNode&) const override {
    return fmt::format(
        "The instruction: variant library entry '{}'. Its function is fixed: __device__ void {}({}). It must compute: "
        "{}. The harness launches one block of {} threads per {} rows; the only headers allowed are cuda_bf16.h, "
        "cuda_fp16.h and cuda_fp8.h. Time is measured at {}x{} (larger than L2), interleaved with the current best.",
        spec_.name, spec_.entry, spec_.signature, spec_.contract, spec_.threads, spec_.tile_rows, spec_.time_shape.rows,
        spec_.time_shape.cols);
  }

  void make_child(const SearchTree& tree, const TreeNode& from, const std::string& edited, const std::string& reply,
                  Proposal& p) const override {
    if (edited == content(from)) fail("the edit changes nothing");
    if (tree.seen_plan(content_hash(edited))) fail("the edit gives a variant the search already tried");
    p.op_params["entry"] = spec_.name;
    p.op_params["source"] = edited;
    p.op_params["edited_anchored"] = reply;
  }

  std::string marked_failure(const TreeNode& failed, const CandidateRecord& rec) const override {
    if (!rec.op_params.contains("edited_anchored") || !rec.op_params["edited_anchored"].is_string())
      fail("candidate {} has no recorded anchored source to repair within", failed.id);
    return rec.op_params["edited_anchored"].get<std::string>();
  }

 private:
  variants::VariantSpec spec_;
  CandidateLookup lookup_;
};

}  // namespace

std::shared_ptr<AgentSubject> make_variant_subject(const variants::VariantSpec& spec, CandidateLookup lookup) {
  return std::make_shared<VariantSubject>(spec, std::move(lookup));
}

}  // namespace tessera

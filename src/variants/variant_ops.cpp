// variant_entries and evaluate_variant (see variant_ops.h).
#include "variants/variant_ops.h"

namespace tessera::variants {

namespace {

using nlohmann::json;

json entries() {
  json out = json::array();
  for (const VariantSpec& s : variant_library()) {
    json shapes = json::array();
    for (const VariantShape& sh : s.shapes) shapes.push_back({{"rows", sh.rows}, {"cols", sh.cols}});
    out.push_back({{"entry", s.name},
                   {"function", s.entry},
                   {"signature", s.signature},
                   {"contract", s.contract},
                   {"tile_rows", s.tile_rows},
                   {"threads", s.threads},
                   {"rtol", s.rtol},
                   {"atol", s.atol},
                   {"reference", reference_source(s)}});
  }
  return {{"entries", out}};
}

const VariantSpec& entry_field(const json& req) {
  const std::string name = agents::string_field(req, "entry", false);
  try {
    return variant_spec(name.empty() ? "matvec_bf16" : name);
  } catch (const Error& e) {
    throw agents::AgentOpError("bad_request", e.what());
  }
}

}  // namespace

agents::AgentOpTable variant_ops(const EvaluateOptions& options) {
  const json str = {{"type", "string"}};
  agents::AgentOpTable t;
  t["variant_entries"] = {"the instructions an agent may rewrite: signature, contract, reference source",
                          {{"type", "object"}, {"properties", json::object()}, {"required", json::array()}},
                          [](const json&) { return entries(); }, ""};
  t["evaluate_variant"] = {
      "static, compile and run gates for a CUDA instruction variant (run needs a GPU)",
      {{"type", "object"},
       {"properties", {{"source", str}, {"entry", str}, {"run", {{"type", "boolean"}}}}},
       {"required", {"source"}}},
      [options](const json& req) {
        EvaluateOptions o = options;
        if (auto it = req.find("run"); it != req.end()) {
          if (!it->is_boolean()) throw agents::AgentOpError("bad_request", "field \"run\" must be a boolean");
          o.run = it->get<bool>();
        }
        return evaluate_variant(agents::string_field(req, "source"), entry_field(req), o);
      },
      ""};
  return t;
}

}  // namespace tessera::variants

// Failures to produce a parent's plan are not errors of the run: the operator then has
// nothing to propose and the policy picks something else. A stored plan that does not
// parse is different (the database is damaged) and is reported as an error.
#include "search/tuned_plan_source.h"

#include <deque>

#include "core/error.h"
#include "plan/lower.h"
#include "plan/plan_json.h"
#include "search/rewrite_recipe.h"

namespace tessera {

PlanSource tuned_plan_source(const SearchTree& tree, const TuneStore& store, const KnobSpace& space,
                             const EvalSettings& es) {
  auto cache = std::make_shared<std::deque<std::pair<int64_t, ParentPlan>>>();
  return [&tree, &store, &space, &es, cache](int64_t id) -> std::optional<ParentPlan> {
    for (const auto& [cid, pp] : *cache)
      if (cid == id) return pp;
    if (!tree.has(id)) return std::nullopt;
    const TreeNode& n = tree.node(id);
    ParentPlan pp;
    if (n.has_knobs) {
      try {
        pp.plan = std::make_shared<const Plan>(lower(es.model, es.target, space.to_config(n.knobs), es.context, es.model_label));
      } catch (const Error&) {
        return std::nullopt;
      }
      pp.recipe = recipe_from_knobs(n.knobs);
    } else {
      std::optional<CandidateRecord> c = store.candidate(id);
      if (!c || c->plan_hash.empty()) return std::nullopt;
      std::optional<std::string> json = store.plan_json(c->plan_hash);
      if (!json) return std::nullopt;
      pp.plan = std::make_shared<const Plan>(
          parse_plan_json(*json, fmt::format("tuning database '{}', candidate {}", store.path(), id)));
      pp.recipe = c->op_params.is_object() && c->op_params.contains("recipe") ? c->op_params["recipe"] : nlohmann::json();
    }
    cache->push_front({id, pp});
    if (cache->size() > 4) cache->pop_back();
    return pp;
  };
}

}  // namespace tessera

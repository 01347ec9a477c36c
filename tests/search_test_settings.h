// The ladder settings the search tests share: the tiny shape on the sm_90a preset, a short
// context and two checked steps, predicted costs from the default parameters.
#pragma once

#include "model/shapes.h"
#include "plan/lower.h"
#include "search/cost_model.h"
#include "search/evaluate.h"

namespace tessera::test {

inline EvalSettings tiny_search_settings() {
  EvalSettings s;
  s.model = shape_config("tiny");
  s.model_label = "tiny";
  s.target = target_preset("sm_90a");
  s.context = 32;
  s.cost = default_cost_params(s.target);
  s.check_steps = 2;
  return s;
}

}  // namespace tessera::test

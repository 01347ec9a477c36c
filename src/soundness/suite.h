// The adversarial soundness suite behind `tessera fuzz-validator`: generates plans (one
// mutation class after another, plus random plans), labels each with the oracle and with
// validate_plan, and counts per class. A false accept (oracle unsafe, validator accepts) is
// a validator soundness bug; a false reject (oracle safe, validator rejects) is imprecision.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/plan.h"
#include "soundness/oracle.h"

namespace tessera::soundness {

struct SuiteOptions {
  size_t count = 1000;
  uint64_t seed = 1;
  OracleOptions oracle;
  size_t max_examples = 20;  // false accepts / rejects kept with details per class
};

struct Finding {
  size_t index = 0;        // plan number in the run (reproduce with the same seed)
  std::string cls;
  std::string base;        // the lowered plan it came from
  std::string oracle;      // problem: detail
  std::string validator;   // first diagnostic, or "accepted"
  Plan plan;
};

struct ClassStats {
  std::string name;
  size_t generated = 0, not_applicable = 0, skipped = 0;
  size_t oracle_unsafe = 0, rejected = 0, false_accepts = 0, false_rejects = 0, oracle_safe = 0;
  double validate_seconds = 0, oracle_seconds = 0;
  size_t oracle_executions = 0;
  size_t exhaustive = 0;  // plans whose every schedule the oracle explored
};

struct SuiteResult {
  std::vector<ClassStats> classes;  // in order, then "total" last
  std::vector<Finding> false_accepts, false_rejects;
  double seconds = 0;
  nlohmann::json to_json() const;
  std::string table() const;  // markdown
};

// The lowered plans mutations start from (small shapes and context, several knob settings).
std::vector<std::pair<std::string, Plan>> base_plans();

SuiteResult run_suite(const SuiteOptions& options);

}  // namespace tessera::soundness

// tessera validate: the static proof a plan must pass before any backend runs it.
// Exit 0 when accepted (a summary line), 3 when rejected (one line per diagnostic, or the
// report as JSON with --json), 1 when the file cannot be read or parsed (load_plan throws).
#include <fmt/format.h>

#include <memory>

#include "cli/commands.h"
#include "plan/plan_json.h"
#include "validate/validate.h"

namespace tessera::cli {

namespace {

void add_validate(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto max_errors = std::make_shared<size_t>(20);
  auto* cmd = app.add_subcommand("validate", "Prove a plan deadlock-free, race-free and complete (exit 3 if not)");
  cmd->add_option("plan", *path, "Plan JSON file")->required();
  cmd->add_flag("--json", *json, "Print the report as JSON");
  cmd->add_option("--max-errors", *max_errors, "Diagnostics to collect before stopping")->check(CLI::PositiveNumber);
  cmd->callback([path, json, max_errors] {
    const Plan plan = load_plan(*path);
    ValidateOptions options;
    options.max_errors = *max_errors;
    const ValidationReport report = validate_plan(plan, options);
    if (*json)
      fmt::print("{}\n", report.to_json().dump(2));
    else
      fmt::print("{}", report.to_text());
    if (!report.ok()) throw ExitCode{3};
  });
}

const CommandRegistration kRegistered(60, add_validate);

}  // namespace

}  // namespace tessera::cli

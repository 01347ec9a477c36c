#include <algorithm>
#include <utility>
#include <vector>

#include "cli/commands.h"

namespace tessera::cli {
namespace {
std::vector<std::pair<int, AddCommand>>& registry() {
  static std::vector<std::pair<int, AddCommand>> r;  // function-local: safe during static init
  return r;
}
}  // namespace

CommandRegistration::CommandRegistration(int order, AddCommand add) { registry().emplace_back(order, add); }

void add_registered_commands(CLI::App& app) {
  auto r = registry();
  std::stable_sort(r.begin(), r.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& [order, add] : r) add(app);
}

}  // namespace tessera::cli

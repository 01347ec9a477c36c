// `--backend ops|ops-graph` from the command line, on whatever this machine is: with a CUDA
// device `tessera check` must pass against the CPU reference; without one (or in a build
// without CUDA) it must end with a clear error, never a crash. A plan given to ops is a usage
// error either way, raised before any device is touched.
#include <gtest/gtest.h>

#include "test_util.h"

namespace tessera::test {
namespace {

TEST(CliOpsBackend, CheckPassesOrExplainsTheMissingGpu) {
  for (const char* backend : {"ops", "ops-graph"}) {
    SCOPED_TRACE(backend);
    const RunResult r = run_tessera(std::string("check --backend ") + backend + " --shape tiny --steps 4");
    if (r.rc == 0) {
      EXPECT_NE(r.out.find(std::string(backend) + " vs cpu reference, tiny"), std::string::npos) << r.out;
      continue;
    }
    EXPECT_EQ(r.rc, 1) << r.out << r.err;
    const bool no_toolkit = r.err.find("--backend " + std::string(backend) +
                                       ": this tessera was built without a CUDA toolkit") != std::string::npos;
    const bool no_device = r.err.find("ops backend: ") != std::string::npos &&
                           (r.err.find("no CUDA device") != std::string::npos ||
                            r.err.find("cudaGetDeviceCount failed") != std::string::npos);
    EXPECT_TRUE(no_toolkit || no_device) << r.err;
  }
}

TEST(CliOpsBackend, APlanIsAUsageError) {
  const RunResult r = run_tessera("check --backend ops-graph --shape tiny --plan no-such-plan.json");
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_NE(r.err.find("--plan applies to --backend emu or cuda; ops-graph runs no plan"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tessera::test

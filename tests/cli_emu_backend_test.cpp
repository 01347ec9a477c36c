// `--backend emu` from the command line: `check` and `generate` take the emulator's
// `--dispatch` like `tessera emulate` does, free dispatch gives the reference engine's
// tokens, and a dispatch name the emulator does not know is a usage error.
#include <gtest/gtest.h>

#include "test_util.h"

namespace tessera::test {
namespace {

TEST(CliEmuBackend, CheckPassesInBothDispatchModes) {
  for (const char* dispatch : {"rounds", "free"}) {
    SCOPED_TRACE(dispatch);
    const RunResult r = run_tessera(std::string("check --backend emu --numerics fp32 --threads 3 --dispatch ") +
                                    dispatch + " --shape stories260k --steps 6");
    EXPECT_EQ(r.rc, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("emu vs cpu reference, stories260k"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("PASS"), std::string::npos) << r.out;
  }
}

TEST(CliEmuBackend, GenerateTellsTheCpuStoryInBothDispatchModes) {
  auto model = shared_model("stories260K.bin");
  auto tok = shared_model("tok512.bin");
  if (!model || !tok) GTEST_SKIP() << "../shared/models not present";
  auto story = [&](const std::string& backend) {
    const RunResult r = run_tessera("generate --model '" + *model + "' --tokenizer '" + *tok +
                                    "' --prompt 'Once upon a time' --max-tokens 40 --temperature 0 --threads 3 " +
                                    backend);
    EXPECT_EQ(r.rc, 0) << r.out << r.err;
    return r.out;
  };
  const std::string cpu = story("--backend cpu");
  ASSERT_GT(cpu.size(), 40u) << cpu;
  EXPECT_EQ(story("--backend emu --numerics fp32 --dispatch rounds"), cpu);
  EXPECT_EQ(story("--backend emu --numerics fp32 --dispatch free"), cpu);
}

TEST(CliEmuBackend, UnknownDispatchIsAUsageError) {
  const RunResult r = run_tessera("check --backend emu --shape tiny --steps 2 --dispatch async");
  EXPECT_EQ(r.rc, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--dispatch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("async"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tessera::test

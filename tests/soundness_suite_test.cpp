// A CI-sized run of the adversarial suite: the validator must accept no plan the oracle
// calls unsafe, and its false-reject rate over oracle-safe plans is printed (target < 5%).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "soundness/suite.h"
#include "test_util.h"

namespace tessera::soundness {
namespace {

TEST(SoundnessSuite, NoFalseAcceptsOverTwoThousandPlans) {
  SuiteOptions o;
  o.count = 2000;
  o.seed = 7;
  const SuiteResult r = run_suite(o);
  const ClassStats& total = r.classes.back();
  std::printf("%s", r.table().c_str());
  const double fr = total.oracle_safe ? double(total.false_rejects) / double(total.oracle_safe) : 0;
  std::printf("false-reject rate: %.2f%% (%zu of %zu oracle-safe plans)\n", 100 * fr, total.false_rejects,
              total.oracle_safe);
  for (const Finding& f : r.false_accepts)
    ADD_FAILURE() << "false accept #" << f.index << " [" << f.cls << " from " << f.base << "]: " << f.oracle;
  EXPECT_EQ(total.false_accepts, 0u);
  EXPECT_GT(total.oracle_unsafe, 1000u);  // the suite really produces unsafe plans
  EXPECT_GT(total.oracle_safe, 50u);      // and safe ones, so false rejects are measured
  EXPECT_LT(fr, 0.05);
}

// The command: exit 0 without false accepts, the table on stdout, statistics as JSON.
TEST(SoundnessSuite, CommandWritesTableAndJson) {
  test::TempDir tmp;
  const std::string json = tmp.file("stats.json");
  const std::string cmd = std::string(TESSERA_BINARY) + " fuzz-validator --count 150 --seed 3 --json " + json +
                          " >" + tmp.file("out") + " 2>" + tmp.file("err");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream out(tmp.file("out"));
  std::stringstream text;
  text << out.rdbuf();
  EXPECT_NE(text.str().find("| kv_read_before_append |"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("false accepts: 0"), std::string::npos) << text.str();
  std::ifstream in(json);
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_EQ(j["classes"].size(), 16u);  // 14 mutation classes, random, total
  EXPECT_EQ(j["classes"].back()["name"], "total");
  EXPECT_EQ(j["classes"].back()["generated"], 150);
  EXPECT_EQ(j["classes"].back()["false_accepts"], 0);
}

}  // namespace
}  // namespace tessera::soundness

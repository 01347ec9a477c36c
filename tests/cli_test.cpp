// End-to-end tests of the `tessera` command line: exit codes, the real stories260K
// checkpoint's known story, and agreement between the formats make-model writes.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace {

using tessera::test::TempDir;
using tessera::test::run_tessera;
using tessera::test::slurp;
using Result = tessera::test::RunResult;

std::string q(const std::string& s) {  // single-quote for the shell
  std::string r = "'";
  for (char c : s) r += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return r + "'";
}

const char* kStory =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
    "park. One day, she saw a big, red ball.";

}  // namespace

TEST(Cli, HelpAndUsageErrors) {
  EXPECT_EQ(run_tessera("--help").rc, 0);
  for (const char* sub : {"generate", "logits", "tokenize", "make-model", "info", "demo"}) {
    Result r = run_tessera(std::string(sub) + " --help");
    EXPECT_EQ(r.rc, 0) << sub;
    EXPECT_NE(r.out.find("--"), std::string::npos) << sub;
  }
  Result r = run_tessera("frobnicate");
  EXPECT_EQ(r.rc, 2);
  r = run_tessera("generate --prompt hi");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--model"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one-line reason: " << r.err;
  r = run_tessera("make-model --shape nope --format hf --out /tmp/x");
  EXPECT_EQ(r.rc, 2);
}

TEST(Cli, RuntimeFailuresExitOneNamingTheFile) {
  Result r = run_tessera("info --model /nonexistent/model.gguf");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("/nonexistent/model.gguf"), std::string::npos) << r.err;
  TempDir tmp;
  { std::ofstream(tmp.file("junk.bin")) << "not a model"; }
  r = run_tessera("info --model " + tmp.file("junk.bin"));
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("junk.bin"), std::string::npos) << r.err;
}

TEST(Cli, Stories260KLlama2cGivesTheReferenceStory) {
  auto bin = tessera::test::shared_model("stories260K.bin");
  auto tok = tessera::test::shared_model("tok512.bin");
  if (!bin || !tok) GTEST_SKIP() << "../shared/models not present";
  Result r = run_tessera("generate --model " + q(*bin) + " --tokenizer " + q(*tok) +
                     " --prompt 'Once upon a time' --max-tokens 100 --temperature 0");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.rfind(kStory, 0), 0u) << r.out;
}

TEST(Cli, Stories260KGgufGivesTheSameStory) {
  auto bin = tessera::test::shared_model("stories260K.bin");
  auto tok = tessera::test::shared_model("tok512.bin");
  auto gguf = tessera::test::shared_model("stories260K.gguf");
  if (!bin || !tok || !gguf) GTEST_SKIP() << "../shared/models not present";
  Result a = run_tessera("generate --model " + q(*bin) + " --tokenizer " + q(*tok) +
                     " --prompt 'Once upon a time' --max-tokens 100 --temperature 0");
  Result b = run_tessera("generate --model " + q(*gguf) +
                     " --prompt 'Once upon a time' --max-tokens 100 --temperature 0");
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(b.out.rfind(kStory, 0), 0u) << b.out;
  EXPECT_EQ(a.out, b.out);
}

// The same seeded shape written as hf, gguf and llama2c must load to the same function:
// identical greedy token ids from the same prompt ids.
TEST(Cli, MakeModelFormatsAgree) {
  TempDir tmp;
  std::vector<std::string> models = {tmp.file("hf"), tmp.file("m.gguf"), tmp.file("l2c/model.bin")};
  ASSERT_EQ(run_tessera("make-model --shape tiny --format hf --seed 7 --out " + models[0]).rc, 0);
  ASSERT_EQ(run_tessera("make-model --shape tiny --format gguf --seed 7 --out " + models[1]).rc, 0);
  ASSERT_EQ(run_tessera("make-model --shape tiny --format llama2c --seed 7 --out " + models[2]).rc, 0);
  std::vector<nlohmann::json> ids;
  for (const auto& m : models) {
    Result r = run_tessera("generate --model " + m + " --prompt-tokens 1,20,30,40 --max-tokens 24 "
                       "--temperature 0 --ignore-eos --ids-out " + tmp.file("ids.json"));
    ASSERT_EQ(r.rc, 0) << m << ": " << r.err;
    ids.push_back(nlohmann::json::parse(slurp(tmp.file("ids.json"))));
    EXPECT_EQ(ids.back()["generated"].size(), 24u);
    Result info = run_tessera("info --model " + m);
    ASSERT_EQ(info.rc, 0) << info.err;
    EXPECT_NE(info.out.find("layers:         2"), std::string::npos) << info.out;
  }
  EXPECT_EQ(ids[0], ids[1]);
  EXPECT_EQ(ids[0], ids[2]);
}

TEST(Cli, GenerateWithTextPromptOnGeneratedModel) {
  TempDir tmp;
  ASSERT_EQ(run_tessera("make-model --shape tiny --format hf --out " + tmp.file("hf")).rc, 0);
  Result r = run_tessera("generate --model " + tmp.file("hf") +
                     " --prompt 'Hello world' --max-tokens 8 --temperature 0.7 --top-k 20 --top-p 0.9 --seed 3");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Hello world", 0), 0u);
  EXPECT_NE(r.err.find("tok/s"), std::string::npos) << r.err;
  Result again = run_tessera("generate --model " + tmp.file("hf") +
                         " --prompt 'Hello world' --max-tokens 8 --temperature 0.7 --top-k 20 --top-p 0.9 --seed 3");
  EXPECT_EQ(r.out, again.out) << "same seed, same text";
}

TEST(Cli, LogitsWritesNpyOfEveryPosition) {
  TempDir tmp;
  ASSERT_EQ(run_tessera("make-model --shape tiny --format gguf --out " + tmp.file("m.gguf")).rc, 0);
  Result r = run_tessera("logits --model " + tmp.file("m.gguf") + " --tokens 1,2,3 --out " + tmp.file("l.npy"));
  ASSERT_EQ(r.rc, 0) << r.err;
  std::string npy = slurp(tmp.file("l.npy"));
  ASSERT_GT(npy.size(), 128u);
  EXPECT_EQ(npy.substr(1, 5), "NUMPY");
  EXPECT_NE(npy.find("'shape': (3, 512)"), std::string::npos);
  EXPECT_EQ(npy.size() % 64, (3u * 512u * 4u) % 64);
  EXPECT_EQ(run_tessera("logits --model " + tmp.file("m.gguf") + " --tokens 1,x --out " + tmp.file("l.npy")).rc, 2);
  Result bad = run_tessera("logits --model " + tmp.file("m.gguf") + " --tokens 1,99999 --out " + tmp.file("l.npy"));
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("99999"), std::string::npos) << bad.err;
}

TEST(Cli, PromptBeyondContextAndInvalidUtf8AreRefused) {
  TempDir tmp;
  ASSERT_EQ(run_tessera("make-model --shape tiny --format hf --out " + tmp.file("hf")).rc, 0);
  std::string ids = "1";
  for (int i = 0; i < 300; ++i) ids += ",5";  // tiny's context is 256
  Result r = run_tessera("generate --model " + tmp.file("hf") + " --prompt-tokens " + ids + " --max-tokens 4");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("context"), std::string::npos) << r.err;
  r = run_tessera("generate --model " + tmp.file("hf") + " --prompt \"$(printf 'bad \\377 byte')\" --max-tokens 4");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("UTF-8"), std::string::npos) << r.err;
}

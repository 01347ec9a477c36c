// Dev harness for tools/tokenizer_compare.py: encodes a JSONL file of strings with one of
// our tokenizers and writes JSONL id arrays, the same contract as `tessera tokenize`.
// It runs only when TESSERA_TOKCMP_JOB names a job file, so the normal suite skips it:
//   {"tokenizer_json": PATH} | {"vocab_json": PATH}  (a VocabSpec dumped by the script)
//   | {"builtin": {"vocab_size": N, "kind": "gpt2"|"spm", "write_json": PATH}}
//   "in": PATH, "out": PATH, "add_special": bool
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>

#include "tokenizer/tokenizer.h"

namespace {

using json = nlohmann::json;

tessera::VocabSpec vocab_from_json(const json& j) {
  tessera::VocabSpec v;
  v.kind = j.at("model") == "gpt2" ? tessera::VocabSpec::Kind::Gpt2Bpe : tessera::VocabSpec::Kind::Spm;
  v.tokens = j.at("tokens").get<std::vector<std::string>>();
  if (j.contains("scores")) v.scores = j["scores"].get<std::vector<float>>();
  if (j.contains("token_types")) v.token_types = j["token_types"].get<std::vector<int32_t>>();
  if (j.contains("merges")) v.merges = j["merges"].get<std::vector<std::string>>();
  v.pre = j.value("pre", "");
  v.bos_id = j.value("bos_id", -1);
  v.eos_id = j.value("eos_id", -1);
  v.unk_id = j.value("unk_id", -1);
  v.add_bos = j.value("add_bos", true);
  v.add_eos = j.value("add_eos", false);
  v.add_space_prefix = j.value("add_space_prefix", true);
  return v;
}

TEST(TokenizerCompareHarness, EncodeJsonl) {
  const char* job_path = std::getenv("TESSERA_TOKCMP_JOB");
  if (!job_path || !*job_path) GTEST_SKIP() << "set TESSERA_TOKCMP_JOB to run the comparison harness";
  json job = json::parse(std::ifstream(job_path));
  std::unique_ptr<tessera::Tokenizer> tok;
  if (job.contains("builtin")) {  // {"vocab_size": N, "kind": "gpt2"|"spm", "write_json": PATH}
    const json& b = job["builtin"];
    auto v = tessera::make_builtin_vocab(b["vocab_size"], b["kind"] == "gpt2" ? tessera::VocabSpec::Kind::Gpt2Bpe
                                                                             : tessera::VocabSpec::Kind::Spm);
    tessera::write_tokenizer_json(v, b["write_json"]);
    tok = tessera::tokenizer_from_vocab(v, "builtin");
  } else if (job.contains("tokenizer_json")) {
    tok = tessera::load_tokenizer_json(job["tokenizer_json"]);
  } else {
    tok = tessera::tokenizer_from_vocab(vocab_from_json(json::parse(std::ifstream(job["vocab_json"].get<std::string>()))),
                                        job["vocab_json"]);
  }
  bool add_special = job.value("add_special", true);
  std::ifstream in(job["in"].get<std::string>());
  std::ofstream out(job["out"].get<std::string>());
  std::string line;
  int n = 0, round_trip_failures = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::string s = json::parse(line).get<std::string>();
    auto ids = tok->encode(s, add_special);
    out << json(ids).dump() << "\n";
    // Reported, not asserted: some formats legitimately normalise (e.g. Metaspace).
    if (!add_special && tok->decode(ids, true) != s) ++round_trip_failures;
    ++n;
  }
  std::printf("encoded %d strings; %d decode round trips differ\n", n, round_trip_failures);
}

}  // namespace

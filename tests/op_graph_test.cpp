// Op graph tests: node counts per kind for each architecture variant, single assignment,
// topological order (every input produced earlier, or a weight / the token / a constant),
// and weight names that the model side (random_tensors) actually defines.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/error.h"
#include "graph/op_graph.h"
#include "model/shapes.h"

namespace tessera {
namespace {

std::map<OpKind, int> count_kinds(const OpGraph& g) {
  std::map<OpKind, int> m;
  for (const OpNode& n : g.nodes) m[n.kind] += 1;
  return m;
}

void check_structure(const OpGraph& g) {
  std::set<std::string> weights;
  for (const TensorEntry& e : random_tensors(g.config, 1)) weights.insert(e.name);
  std::map<std::string, std::vector<int64_t>> values;
  for (const GraphValue& v : g.values) {
    EXPECT_TRUE(values.emplace(v.name, v.shape).second) << "value declared twice: " << v.name;
    for (int64_t d : v.shape) EXPECT_GT(d, 0) << v.name;
  }
  // Values available before any node runs: the token and the RoPE constant.
  std::set<std::string> available = {"token", "rope_inv_freq"};
  std::set<std::string> produced;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const OpNode& n = g.nodes[i];
    EXPECT_EQ(n.id, int(i));
    for (const std::string& in : n.inputs) {
      if (in.rfind("w:", 0) == 0) {
        EXPECT_TRUE(weights.count(in.substr(2))) << "node " << i << " reads unknown weight " << in;
        continue;
      }
      EXPECT_TRUE(values.count(in)) << "undeclared value " << in;
      EXPECT_TRUE(available.count(in)) << "node " << i << " (" << op_kind_name(n.kind) << ") reads " << in
                                       << " before it is produced";
    }
    for (const std::string& out : n.outputs) {
      EXPECT_TRUE(values.count(out)) << "undeclared value " << out;
      EXPECT_TRUE(produced.insert(out).second) << "value written twice: " << out;
      available.insert(out);
    }
  }
}

TEST(OpGraph, LlamaCountsAndOrder) {
  const ModelConfig c = shape_config("smollm2-135m");
  OpGraph g = build_op_graph(c);
  check_structure(g);
  auto m = count_kinds(g);
  const int L = c.num_layers;
  EXPECT_EQ(m[OpKind::Embedding], 1);
  EXPECT_EQ(m[OpKind::RmsNorm], 2 * L);
  EXPECT_EQ(m[OpKind::Linear], 7 * L);  // q k v o gate up down
  EXPECT_EQ(m[OpKind::Bias], 0);
  EXPECT_EQ(m[OpKind::QkNorm], 0);
  EXPECT_EQ(m[OpKind::Rope], 2 * L);
  EXPECT_EQ(m[OpKind::KvAppend], L);
  EXPECT_EQ(m[OpKind::Attention], L);
  EXPECT_EQ(m[OpKind::SiluMul], L);
  EXPECT_EQ(m[OpKind::ResidualAdd], 2 * L);
  EXPECT_EQ(m[OpKind::FinalNorm], 1);
  EXPECT_EQ(m[OpKind::LmHead], 1);
  EXPECT_EQ(m[OpKind::Argmax], 1);
  EXPECT_EQ(g.nodes.size(), size_t(4 + 16 * L));
  EXPECT_EQ(g.nodes.front().kind, OpKind::Embedding);
  EXPECT_EQ(g.nodes.back().kind, OpKind::Argmax);
  // Tied embeddings: the LM head reads the embedding table.
  const OpNode& head = g.nodes[g.nodes.size() - 2];
  EXPECT_EQ(head.inputs[1], "w:model.embed_tokens.weight");
}

TEST(OpGraph, Qwen2HasBiasesQwen3HasQkNorm) {
  for (const char* name : {"qwen2.5-0.5b", "qwen3-0.6b", "llama-3-8b", "mistral-7b", "tiny", "stories260k"}) {
    SCOPED_TRACE(name);
    const ModelConfig c = shape_config(name);
    OpGraph g = build_op_graph(c);
    check_structure(g);
    auto m = count_kinds(g);
    EXPECT_EQ(m[OpKind::Bias], c.attention_bias ? 3 * c.num_layers : 0);
    EXPECT_EQ(m[OpKind::QkNorm], c.qk_norm ? 2 * c.num_layers : 0);
    if (!c.tie_word_embeddings) EXPECT_EQ(g.nodes[g.nodes.size() - 2].inputs[1], "w:lm_head.weight");
  }
}

TEST(OpGraph, ShapesOfKeyValues) {
  const ModelConfig c = shape_config("llama-3-8b");
  OpGraph g = build_op_graph(c);
  std::map<std::string, std::vector<int64_t>> v;
  for (const GraphValue& x : g.values) v[x.name] = x.shape;
  EXPECT_EQ(v["x.0"], (std::vector<int64_t>{4096}));
  EXPECT_EQ(v["l0.q"], (std::vector<int64_t>{32 * 128}));
  EXPECT_EQ(v["l0.k"], (std::vector<int64_t>{8 * 128}));
  EXPECT_EQ(v["l5.k_cache"], (std::vector<int64_t>{8192, 8 * 128}));
  EXPECT_EQ(v["l31.ffn"], (std::vector<int64_t>{14336}));
  EXPECT_EQ(v["x.32"], (std::vector<int64_t>{4096}));
  EXPECT_EQ(v["logits"], (std::vector<int64_t>{128256}));
  EXPECT_EQ(v["next_token"], (std::vector<int64_t>{1}));
  // Attention reads q after RoPE and both caches.
  for (const OpNode& n : g.nodes)
    if (n.kind == OpKind::Attention && n.layer == 3)
      EXPECT_EQ(n.inputs, (std::vector<std::string>{"l3.q_rope", "l3.k_cache", "l3.v_cache"}));
}

TEST(OpGraph, RejectsInconsistentConfig) {
  ModelConfig c = shape_config("tiny");
  c.head_dim = 15;
  EXPECT_THROW(build_op_graph(c), Error);
}

}  // namespace
}  // namespace tessera

// Builds the decode step as a flat list of tensor operations, layer by layer, in the order
// the CPU reference engine runs them. Kept deliberately unfused: fusion is a scheduling
// decision the lowering makes (plan/lower*.cpp), so the graph stays the plain algorithm.
// Weight inputs are named "w:<canonical name>" so they can never collide with values.
#include "graph/op_graph.h"

#include <fmt/format.h>

#include "core/error.h"

namespace tessera {

std::string op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::Embedding: return "embedding";
    case OpKind::RmsNorm: return "rmsnorm";
    case OpKind::Linear: return "linear";
    case OpKind::Bias: return "bias";
    case OpKind::QkNorm: return "qk_norm";
    case OpKind::Rope: return "rope";
    case OpKind::KvAppend: return "kv_append";
    case OpKind::Attention: return "attention";
    case OpKind::SiluMul: return "silu_mul";
    case OpKind::ResidualAdd: return "residual_add";
    case OpKind::FinalNorm: return "final_norm";
    case OpKind::LmHead: return "lm_head";
    case OpKind::Argmax: return "argmax";
  }
  return "op?";
}

namespace {

class Builder {
 public:
  explicit Builder(const ModelConfig& c) { g_.config = c; }

  void value(const std::string& name, std::vector<int64_t> shape) {
    g_.values.push_back({name, std::move(shape)});
  }
  void node(OpKind kind, int layer, std::vector<std::string> in, std::vector<std::string> out) {
    OpNode n;
    n.id = int(g_.nodes.size());
    n.kind = kind;
    n.layer = layer;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    g_.nodes.push_back(std::move(n));
  }
  OpGraph take() { return std::move(g_); }

 private:
  OpGraph g_;
};

std::string w(const std::string& canonical) { return "w:" + canonical; }
std::string lw(int l, const char* suffix) { return w(layer_weight(l, suffix)); }

}  // namespace

OpGraph build_op_graph(const ModelConfig& c) {
  c.validate("op graph");
  const int64_t D = c.hidden_size, I = c.intermediate_size, V = c.vocab_size, hd = c.head_dim;
  const int64_t q_width = int64_t(c.num_heads) * hd, kv_width = int64_t(c.num_kv_heads) * hd;
  Builder b(c);

  b.value("token", {1});
  b.value("rope_inv_freq", {hd / 2});
  b.value("x.0", {D});
  b.node(OpKind::Embedding, -1, {"token", w("model.embed_tokens.weight")}, {"x.0"});

  for (int l = 0; l < c.num_layers; ++l) {
    auto v = [l](const std::string& what) { return fmt::format("l{}.{}", l, what); };
    const std::string x = fmt::format("x.{}", l), x_next = fmt::format("x.{}", l + 1);

    b.value(v("h"), {D});
    b.node(OpKind::RmsNorm, l, {x, lw(l, "input_layernorm.weight")}, {v("h")});
    // q, k, v: projection, then (by architecture) bias, per-head norm and RoPE; each step
    // produces a new value so the graph stays single-assignment.
    std::string final_name[3];
    const std::string names[3] = {"q", "k", "v"};
    for (int i = 0; i < 3; ++i) {
      const std::string& n = names[i];
      const int64_t width = i == 0 ? q_width : kv_width;
      std::string cur = v(n);
      b.value(cur, {width});
      b.node(OpKind::Linear, l, {v("h"), lw(l, fmt::format("self_attn.{}_proj.weight", n).c_str())}, {cur});
      auto step = [&](OpKind kind, const std::string& suffix, std::vector<std::string> extra) {
        std::string next = cur + "_" + suffix;
        b.value(next, {width});
        extra.insert(extra.begin(), cur);
        b.node(kind, l, std::move(extra), {next});
        cur = next;
      };
      if (c.attention_bias) step(OpKind::Bias, "bias", {lw(l, fmt::format("self_attn.{}_proj.bias", n).c_str())});
      if (i < 2 && c.qk_norm) step(OpKind::QkNorm, "norm", {lw(l, fmt::format("self_attn.{}_norm.weight", n).c_str())});
      if (i < 2) step(OpKind::Rope, "rope", {"rope_inv_freq"});
      final_name[i] = cur;
    }
    // KV caches are state carried across steps: [context, kv_width], rows < pos hold the
    // earlier tokens; KvAppend writes row pos.
    b.value(v("k_cache"), {c.max_position_embeddings, kv_width});
    b.value(v("v_cache"), {c.max_position_embeddings, kv_width});
    b.node(OpKind::KvAppend, l, {final_name[1], final_name[2]}, {v("k_cache"), v("v_cache")});
    b.value(v("attn"), {q_width});
    b.node(OpKind::Attention, l, {final_name[0], v("k_cache"), v("v_cache")}, {v("attn")});
    b.value(v("o"), {D});
    b.node(OpKind::Linear, l, {v("attn"), lw(l, "self_attn.o_proj.weight")}, {v("o")});
    b.value(v("xa"), {D});
    b.node(OpKind::ResidualAdd, l, {x, v("o")}, {v("xa")});
    b.value(v("h2"), {D});
    b.node(OpKind::RmsNorm, l, {v("xa"), lw(l, "post_attention_layernorm.weight")}, {v("h2")});
    b.value(v("gate"), {I});
    b.node(OpKind::Linear, l, {v("h2"), lw(l, "mlp.gate_proj.weight")}, {v("gate")});
    b.value(v("up"), {I});
    b.node(OpKind::Linear, l, {v("h2"), lw(l, "mlp.up_proj.weight")}, {v("up")});
    b.value(v("ffn"), {I});
    b.node(OpKind::SiluMul, l, {v("gate"), v("up")}, {v("ffn")});
    b.value(v("down"), {D});
    b.node(OpKind::Linear, l, {v("ffn"), lw(l, "mlp.down_proj.weight")}, {v("down")});
    b.value(x_next, {D});
    b.node(OpKind::ResidualAdd, l, {v("xa"), v("down")}, {x_next});
  }

  const std::string x_last = fmt::format("x.{}", c.num_layers);
  b.value("h_final", {D});
  b.node(OpKind::FinalNorm, -1, {x_last, w("model.norm.weight")}, {"h_final"});
  b.value("logits", {V});
  b.node(OpKind::LmHead, -1,
         {"h_final", w(c.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight")},
         {"logits"});
  b.value("next_token", {1});
  b.node(OpKind::Argmax, -1, {"logits"}, {"next_token"});
  return b.take();
}

}  // namespace tessera

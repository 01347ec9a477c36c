// The op graph: a model's decode step as tensor operations, before any scheduling (the
// algorithm, as Halide keeps it apart from the schedule). Built from the model description
// for every architecture the importers accept; lowering maps groups of ops to fused
// instructions.
#pragma once

#include <string>
#include <vector>

#include "model/model.h"

namespace tessera {

enum class OpKind {
  Embedding, RmsNorm, Linear, Bias, QkNorm, Rope, KvAppend, Attention, SiluMul,
  ResidualAdd, FinalNorm, LmHead, Argmax,
};

struct GraphValue {
  std::string name;            // e.g. "l3.q", "x.4", "logits"
  std::vector<int64_t> shape;
};

struct OpNode {
  int id = 0;
  OpKind kind = OpKind::Linear;
  int layer = -1;                    // -1 for embedding / head
  std::vector<std::string> inputs;   // value names and weight names ("w:<canonical>")
  std::vector<std::string> outputs;  // value names
};

struct OpGraph {
  ModelConfig config;
  std::vector<GraphValue> values;
  std::vector<OpNode> nodes;  // topologically ordered
};

std::string op_kind_name(OpKind k);
OpGraph build_op_graph(const ModelConfig& config);

}  // namespace tessera

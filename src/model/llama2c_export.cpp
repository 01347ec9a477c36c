// llama2.c export writes the legacy (version 0) layout because that is what run.c and
// every llama2.c port read. run.c hard-codes the rotary base and has no biases, q/k norms
// or rope scaling, so models needing those are refused rather than written in a form that
// would silently compute something else. Tensors stream one at a time through fill.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include <fmt/ranges.h>

#include "core/error.h"
#include "model/export.h"
#include "model/llama2c.h"
#include "model/rotary_layout.h"

namespace tessera {

void write_llama2c(const ExportModel& m, const std::string& path) {
  const ModelConfig& c = m.config;
  c.validate(path);
  if (c.attention_bias) fail("{}: llama2.c checkpoints cannot hold attention biases ({})", path, arch_name(c.arch));
  if (c.qk_norm) fail("{}: llama2.c checkpoints cannot hold q/k norms ({})", path, arch_name(c.arch));
  if (c.rope_scaling.type != RopeScaling::Type::None || !c.rope_freq_factors.empty())
    fail("{}: llama2.c checkpoints cannot express rope scaling", path);
  if (c.rope_theta != 10000.f)
    fail("{}: llama2.c fixes rope_theta at 10000, the model has {}", path, c.rope_theta);
  if (int64_t(c.head_dim) * c.num_heads != c.hidden_size)
    fail("{}: llama2.c needs head_dim * heads == hidden size, the model has {} * {} != {}", path,
         c.head_dim, c.num_heads, c.hidden_size);

  std::map<std::string, const TensorEntry*> by_name;
  for (const auto& t : m.tensors) by_name[t.name] = &t;
  auto entry = [&](const std::string& name, std::vector<int64_t> shape) -> const TensorEntry& {
    auto it = by_name.find(name);
    if (it == by_name.end()) fail("{}: the model to export has no tensor '{}'", path, name);
    if (it->second->shape != shape)
      fail("{}: tensor '{}' has shape [{}], the config implies [{}]", path, name,
           fmt::join(it->second->shape, ", "), fmt::join(shape, ", "));
    return *it->second;
  };

  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail("{}: cannot open for writing: {}", path, std::strerror(errno));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> guard(f, &std::fclose);
  auto put = [&](const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f) != n) fail("{}: write failed: {}", path, std::strerror(errno));
  };

  const int64_t dim = c.hidden_size, hs = c.head_dim, kv = int64_t(c.num_kv_heads) * hs,
                ff = c.intermediate_size, v = c.vocab_size;
  const int32_t hdr[7] = {c.hidden_size, c.intermediate_size, c.num_layers, c.num_heads,
                          c.num_kv_heads, c.tie_word_embeddings ? c.vocab_size : -c.vocab_size,
                          c.max_position_embeddings};
  put(hdr, sizeof hdr);

  std::vector<float> buf, perm;
  auto write_entry = [&](const TensorEntry& e) {
    buf.assign(size_t(e.numel()), 0.f);
    e.fill(buf.data());
    put(buf.data(), buf.size() * 4);
  };
  auto write_qk = [&](const TensorEntry& e, int64_t heads) {
    buf.assign(size_t(e.numel()), 0.f);
    e.fill(buf.data());
    perm.resize(buf.size());
    permute_qk_rows(reinterpret_cast<const uint8_t*>(buf.data()), reinterpret_cast<uint8_t*>(perm.data()),
                    heads * hs, dim * 4, hs, /*to_hf=*/false);
    put(perm.data(), perm.size() * 4);
  };
  auto each_layer = [&](const char* suffix, std::vector<int64_t> shape) {
    for (int l = 0; l < c.num_layers; ++l) write_entry(entry(layer_weight(l, suffix), shape));
  };

  write_entry(entry("model.embed_tokens.weight", {v, dim}));
  each_layer("input_layernorm.weight", {dim});
  for (int l = 0; l < c.num_layers; ++l)
    write_qk(entry(layer_weight(l, "self_attn.q_proj.weight"), {dim, dim}), c.num_heads);
  for (int l = 0; l < c.num_layers; ++l)
    write_qk(entry(layer_weight(l, "self_attn.k_proj.weight"), {kv, dim}), c.num_kv_heads);
  each_layer("self_attn.v_proj.weight", {kv, dim});
  each_layer("self_attn.o_proj.weight", {dim, dim});
  each_layer("post_attention_layernorm.weight", {dim});
  each_layer("mlp.gate_proj.weight", {ff, dim});
  each_layer("mlp.down_proj.weight", {dim, ff});
  each_layer("mlp.up_proj.weight", {ff, dim});
  write_entry(entry("model.norm.weight", {dim}));
  // freq_cis_real / freq_cis_imag as llama2.c's legacy exporter wrote them (cos and sin of
  // pos * theta^(-2i/hs)); run.c skips them, older readers use them.
  std::vector<float> re(size_t(c.max_position_embeddings * (hs / 2))), im(re.size());
  for (int64_t p = 0; p < c.max_position_embeddings; ++p)
    for (int64_t i = 0; i < hs / 2; ++i) {
      double freq = 1.0 / std::pow(10000.0, double(2 * i) / double(hs));
      re[size_t(p * (hs / 2) + i)] = float(std::cos(double(p) * freq));
      im[size_t(p * (hs / 2) + i)] = float(std::sin(double(p) * freq));
    }
  put(re.data(), re.size() * 4);
  put(im.data(), im.size() * 4);
  if (!c.tie_word_embeddings) write_entry(entry("lm_head.weight", {v, dim}));
  if (std::fflush(f) != 0) fail("{}: write failed: {}", path, std::strerror(errno));
  if (std::fclose(guard.release()) != 0) fail("{}: close failed: {}", path, std::strerror(errno));
}

}  // namespace tessera

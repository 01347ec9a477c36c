#!/usr/bin/env python3
"""Writes the small GGUF fixtures the C++ tests and the fuzz seed corpus use.

gguf-py (pip package `gguf`, maintained with llama.cpp) is the outside reference: its
writer produces the files and its numpy dequantiser produces the expected floats, so the
C++ reader and dequantiser are checked against code nobody here wrote.

  tests/data/gguf/dequant.gguf   for each type T: tensor "q.T" holds random blocks of T
                                 (scale fields set to small finite f16 values) and
                                 "ref.T" holds gguf.quants.dequantize of those bytes (F32).
  tests/data/gguf/tiny_llama.gguf  llama, F32, SPM vocab, tied; Q/K permuted with
                                 llama.cpp's converter formula from HF-layout weights whose
                                 values encode their own position (see hf_qk below).
  tests/data/gguf/tiny_qwen2.gguf  qwen2, F16, gpt2 vocab with merges, q/k/v biases,
                                 untied, chat template.
  tests/data/gguf/tiny_qwen3.gguf  qwen3, Q8_0/Q4_0 weights, q/k norms.
The tiny models (< 8 KB each) are copied to fuzz/corpus/gguf_fuzz/ as seeds.

Run from the repository root: python3 tools/make_gguf_fixtures.py
"""
import os
import shutil

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "gguf")
CORPUS = os.path.join(ROOT, "fuzz", "corpus", "gguf_fuzz")

rng = np.random.default_rng(1234)

# Byte offsets of the f16 scale fields inside one block, per type (ggml-common.h).
F16_FIELDS = {
    Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0],
    Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208],
}


def random_blocks(qtype, n_blocks):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for off in F16_FIELDS[qtype]:
        scales = rng.uniform(-2.0, 2.0, size=n_blocks).astype(np.float16)
        raw[:, off:off + 2] = scales.view(np.uint8).reshape(n_blocks, 2)
    return raw


def dequant_fixture():
    w = gguf.GGUFWriter(os.path.join(OUT, "dequant.gguf"), "dequant-fixture")
    for qtype in F16_FIELDS:
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        n_blocks = 3 if block_size == 256 else 8
        raw = random_blocks(qtype, n_blocks).reshape(1, n_blocks * type_size)
        ref = gguf.quants.dequantize(raw, qtype).astype(np.float32)
        assert np.all(np.isfinite(ref))
        w.add_tensor(f"q.{qtype.name}", raw, raw_dtype=qtype)
        w.add_tensor(f"ref.{qtype.name}", ref)
    # Plain types: F16 and BF16 from random finite floats.
    vals = rng.normal(size=(1, 64)).astype(np.float32) * 3
    f16 = vals.astype(np.float16)
    w.add_tensor("q.F16", f16)
    w.add_tensor("ref.F16", gguf.quants.dequantize(f16.view(np.uint8), Q.F16).astype(np.float32))
    bf16 = gguf.quants.quantize(vals, Q.BF16)
    w.add_tensor("q.BF16", bf16, raw_dtype=Q.BF16)
    w.add_tensor("ref.BF16", gguf.quants.dequantize(bf16, Q.BF16).astype(np.float32))
    write(w)


def write(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def llamacpp_permute(weights, n_head):
    # llama.cpp convert_hf_to_gguf.py LlamaModel.permute: HF rotate-half rows -> pairs.
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def hf_qk(rows, cols, base):
    # HF-layout value at (r, c) = base + r * 100 + c: exact in fp32 and fp16 for these
    # sizes, so the C++ test can recompute the expected canonical layout.
    r = np.arange(rows, dtype=np.float32)[:, None]
    c = np.arange(cols, dtype=np.float32)[None, :]
    return (base + r * 100 + c).astype(np.float32)


def add_common(w, prefix, hidden, ffn, heads, kv_heads, layers, ctx, theta, eps):
    w.add_block_count(layers)
    w.add_context_length(ctx)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_freq_base(theta)
    w.add_layer_norm_rms_eps(eps)


def tiny_llama():
    hidden, heads, kv, hd, ffn, vocab = 16, 2, 1, 8, 8, 10
    w = gguf.GGUFWriter(os.path.join(OUT, "tiny_llama.gguf"), "llama")
    add_common(w, "llama", hidden, ffn, heads, kv, 1, 256, 10000.0, 1e-5)
    w.add_rope_dimension_count(hd)
    tokens = ["<unk>", "<s>", "</s>", "\u2581a", "\u2581b", "c", "d", "<0x0A>", "\u2581ab", "cd"]
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -4.0, 0.0, -5.0, -6.0])
    w.add_token_types([2, 3, 3, 1, 1, 1, 1, 6, 1, 1])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    f = lambda *s: (rng.normal(size=s) * 0.1).astype(np.float32)
    w.add_tensor("token_embd.weight", f(vocab, hidden))
    w.add_tensor("output_norm.weight", f(hidden))
    w.add_tensor("blk.0.attn_norm.weight", f(hidden))
    w.add_tensor("blk.0.attn_q.weight", llamacpp_permute(hf_qk(heads * hd, hidden, 0), heads))
    w.add_tensor("blk.0.attn_k.weight", llamacpp_permute(hf_qk(kv * hd, hidden, 5000), kv))
    w.add_tensor("blk.0.attn_v.weight", f(kv * hd, hidden))
    w.add_tensor("blk.0.attn_output.weight", f(hidden, heads * hd))
    w.add_tensor("blk.0.ffn_norm.weight", f(hidden))
    w.add_tensor("blk.0.ffn_gate.weight", f(ffn, hidden))
    w.add_tensor("blk.0.ffn_up.weight", f(ffn, hidden))
    w.add_tensor("blk.0.ffn_down.weight", f(hidden, ffn))
    write(w)


def tiny_qwen2():
    hidden, heads, kv, hd, ffn = 8, 2, 1, 4, 8
    tokens = ["a", "b", "ab", "\u0120", "\u0120ab", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    w = gguf.GGUFWriter(os.path.join(OUT, "tiny_qwen2.gguf"), "qwen2")
    add_common(w, "qwen2", hidden, ffn, heads, kv, 1, 128, 1000000.0, 1e-6)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types([1, 1, 1, 1, 1, 3, 3, 3])
    w.add_token_merges(["a b", "\u0120 ab"])
    w.add_eos_token_id(7)
    w.add_pad_token_id(5)
    w.add_add_bos_token(False)
    w.add_chat_template("{% for m in messages %}<|im_start|>{{ m['content'] }}<|im_end|>{% endfor %}")
    h = lambda *s: (rng.normal(size=s) * 0.1).astype(np.float16)
    f = lambda *s: (rng.normal(size=s) * 0.1).astype(np.float32)
    vocab = len(tokens)
    w.add_tensor("token_embd.weight", h(vocab, hidden))
    w.add_tensor("output.weight", h(vocab, hidden))
    w.add_tensor("output_norm.weight", f(hidden))
    w.add_tensor("blk.0.attn_norm.weight", f(hidden))
    w.add_tensor("blk.0.attn_q.weight", hf_qk(heads * hd, hidden, 0).astype(np.float16))
    w.add_tensor("blk.0.attn_q.bias", f(heads * hd))
    w.add_tensor("blk.0.attn_k.weight", h(kv * hd, hidden))
    w.add_tensor("blk.0.attn_k.bias", f(kv * hd))
    w.add_tensor("blk.0.attn_v.weight", h(kv * hd, hidden))
    w.add_tensor("blk.0.attn_v.bias", f(kv * hd))
    w.add_tensor("blk.0.attn_output.weight", h(hidden, heads * hd))
    w.add_tensor("blk.0.ffn_norm.weight", f(hidden))
    w.add_tensor("blk.0.ffn_gate.weight", h(ffn, hidden))
    w.add_tensor("blk.0.ffn_up.weight", h(ffn, hidden))
    w.add_tensor("blk.0.ffn_down.weight", h(hidden, ffn))
    write(w)


def tiny_qwen3():
    hidden, heads, kv, hd, ffn = 32, 2, 1, 16, 32
    tokens = ["a", "b", "c", "<|endoftext|>"]
    w = gguf.GGUFWriter(os.path.join(OUT, "tiny_qwen3.gguf"), "qwen3")
    add_common(w, "qwen3", hidden, ffn, heads, kv, 1, 64, 1000000.0, 1e-6)
    w.add_key_length(hd)
    w.add_value_length(hd)
    w.add_tokenizer_model("gpt2")
    w.add_token_list(tokens)
    w.add_eos_token_id(3)
    f = lambda *s: (rng.normal(size=s) * 0.1).astype(np.float32)
    q8 = lambda *s: (gguf.quants.quantize(f(*s), Q.Q8_0), Q.Q8_0)
    q4 = lambda *s: (gguf.quants.quantize(f(*s), Q.Q4_0), Q.Q4_0)
    w.add_tensor("token_embd.weight", *q8(len(tokens), hidden)[:1], raw_dtype=Q.Q8_0)
    w.add_tensor("output_norm.weight", f(hidden))
    w.add_tensor("blk.0.attn_norm.weight", f(hidden))
    for name, (data, qt) in [("attn_q", q8(heads * hd, hidden)), ("attn_k", q8(kv * hd, hidden)),
                             ("attn_v", q8(kv * hd, hidden)), ("attn_output", q8(hidden, heads * hd)),
                             ("ffn_gate", q4(ffn, hidden)), ("ffn_up", q4(ffn, hidden)),
                             ("ffn_down", q4(hidden, ffn))]:
        w.add_tensor(f"blk.0.{name}.weight", data, raw_dtype=qt)
    w.add_tensor("blk.0.attn_q_norm.weight", f(hd))
    w.add_tensor("blk.0.attn_k_norm.weight", f(hd))
    w.add_tensor("blk.0.ffn_norm.weight", f(hidden))
    write(w)


def main():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(CORPUS, exist_ok=True)
    dequant_fixture()
    tiny_llama()
    tiny_qwen2()
    tiny_qwen3()
    for name in ["tiny_llama.gguf", "tiny_qwen2.gguf", "tiny_qwen3.gguf"]:
        src = os.path.join(OUT, name)
        assert os.path.getsize(src) < 8192, (name, os.path.getsize(src))
        shutil.copy(src, os.path.join(CORPUS, name))
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))


if __name__ == "__main__":
    main()

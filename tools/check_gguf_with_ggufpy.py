#!/usr/bin/env python3
"""Reads a GGUF written by Tessera (write_gguf) with gguf-py's GGUFReader, the reader
llama.cpp ships, and checks what llama.cpp relies on: metadata value types, tensor types
(1-D tensors F32), special token ids inside the vocabulary, and the data of every tensor
dequantising to finite values. (The interleaved Q/K layout is pinned by
tests/gguf_export_test.cpp.)

Usage: python3 tools/check_gguf_with_ggufpy.py FILE.gguf
Exit status 0 and "OK" when every check passes.
"""
import sys

import numpy as np
import gguf
from gguf import GGUFValueType as VT


def main(path):
    r = gguf.GGUFReader(path)
    f = r.fields
    arch = f["general.architecture"].contents()
    assert arch in ("llama", "qwen2", "qwen3"), arch
    u32 = ["block_count", "context_length", "embedding_length", "feed_forward_length",
           "attention.head_count", "attention.head_count_kv", "attention.key_length",
           "rope.dimension_count", "vocab_size"]
    for k in u32:
        assert f[f"{arch}.{k}"].types == [VT.UINT32], (k, f[f"{arch}.{k}"].types)
    for k in ["rope.freq_base", "attention.layer_norm_rms_epsilon"]:
        assert f[f"{arch}.{k}"].types == [VT.FLOAT32], k
    if "tokenizer.ggml.tokens" in f:
        n = len(f["tokenizer.ggml.tokens"].data)
        assert f["tokenizer.ggml.model"].contents() in ("llama", "gpt2")
        for k in ["tokenizer.ggml.scores", "tokenizer.ggml.token_type"]:
            if k in f:
                assert len(f[k].data) == n, k
        for k in ["bos", "eos", "unknown", "padding"]:
            key = f"tokenizer.ggml.{k}_token_id"
            if key in f:
                assert f[key].types == [VT.UINT32] and f[key].contents() < n, key
    hidden = f[f"{arch}.embedding_length"].contents()
    for t in r.tensors:
        data = gguf.quants.dequantize(t.data, t.tensor_type)
        assert np.all(np.isfinite(data)), t.name
        if len(t.shape) == 1:
            assert t.tensor_type == gguf.GGMLQuantizationType.F32, (t.name, t.tensor_type.name)
        if t.name == "token_embd.weight":
            assert t.shape[0] == hidden
    print(f"OK: {path}: {arch}, {len(r.fields)} keys, {len(r.tensors)} tensors "
          f"({', '.join(sorted({t.tensor_type.name for t in r.tensors}))})")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        main(p)

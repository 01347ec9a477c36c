#!/usr/bin/env python3
"""Checks Tessera's HF export with the reference implementations.

1. Every model directory under EXPORT_DIR (written by the round-trip tests when
   TESSERA_HF_EXPORT_DIR is set) must load with safetensors (numpy for f32/f16, torch for
   bf16), transformers.AutoConfig, and AutoModelForCausalLM with no missing or unexpected
   weights, and the loaded weights must equal the safetensors content.

2. With --llama2c-dir DIR (stories260K.bin converted by `tessera`/a test to HF) and
   --gguf FILE (the same model as GGUF), the weights must equal what transformers itself
   produces from the GGUF, which de-interleaves Q/K with its own code: an independent check
   of Tessera's llama2.c rotary permutation (TESSERA_HF_EXPORT_DIR=/tmp/hfx also makes the
   Llama2c.Stories260KToHf test leave /tmp/stories260K_hf).

    mkdir -p /tmp/hfx && TESSERA_HF_EXPORT_DIR=/tmp/hfx ./build/tessera_tests --gtest_filter='HfRoundTrip*'
    python3 tools/check_hf_export.py /tmp/hfx [--llama2c-dir D --gguf stories260K.gguf]
"""
import argparse
import glob
import json
import os
import sys

import numpy as np


def check_dir(d):
    import torch
    import transformers
    from safetensors import safe_open
    cfg = transformers.AutoConfig.from_pretrained(d)
    files = sorted(glob.glob(os.path.join(d, "*.safetensors")))
    tensors = {}
    for f in files:
        with safe_open(f, framework="pt") as sf:
            for k in sf.keys():
                tensors[k] = sf.get_tensor(k)
        if "bf16" not in d:
            from safetensors.numpy import load_file
            load_file(f)  # the numpy reader must accept it too
    model, info = transformers.AutoModelForCausalLM.from_pretrained(
        d, output_loading_info=True, dtype=torch.float32)
    missing = [k for k in info["missing_keys"] if "rotary" not in k]
    assert not missing, (d, missing)
    assert not info["unexpected_keys"], (d, info["unexpected_keys"])
    sd = model.state_dict()
    for k, t in tensors.items():
        assert torch.equal(sd[k].float(), t.float()), (d, k)
    if cfg.tie_word_embeddings:
        assert "lm_head.weight" not in tensors
        assert torch.equal(model.lm_head.weight, model.model.embed_tokens.weight)
    print(f"ok {os.path.basename(d)}: {type(model).__name__}, {len(tensors)} tensors, "
          f"{len(files)} file(s), rope {cfg.rope_parameters}")


def check_llama2c(d, gguf_path):
    # transformers' GGUF model loading needs accelerate; its tensor processor (the code
    # that de-interleaves llama Q/K) does not, so it is applied to gguf-py's raw tensors.
    import gguf
    from safetensors.numpy import load_file
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor
    cfg = json.load(open(os.path.join(d, "config.json")))
    proc = LlamaTensorProcessor(config={"num_attention_heads": cfg["num_attention_heads"],
                                        "num_key_value_heads": cfg["num_key_value_heads"]})
    names = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
             "output.weight": "lm_head.weight"}
    per_layer = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
                 "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
                 "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj",
                 "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    ours = load_file(os.path.join(d, "model.safetensors"))
    n = 0
    for t in gguf.GGUFReader(gguf_path).tensors:
        assert t.tensor_type == gguf.GGMLQuantizationType.F32, t.name
        w = np.array(t.data).reshape([int(x) for x in reversed(t.shape)])
        parts = t.name.split(".")
        if parts[0] == "blk":
            hf = f"model.layers.{parts[1]}.{per_layer[parts[2]]}.{parts[3]}"
        else:
            hf = names[t.name]
        w = proc.process(w, t.name).weights
        if hf == "lm_head.weight" and cfg["tie_word_embeddings"]:
            hf = "model.embed_tokens.weight"  # the GGUF stores the tied head separately
            n -= 1
        assert np.array_equal(ours[hf], w), hf
        n += 1
    assert n == len(ours), (n, len(ours))
    print(f"ok llama2c->hf equals transformers' de-permuted GGUF on all {n} tensors")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("export_dir", nargs="?")
    ap.add_argument("--llama2c-dir")
    ap.add_argument("--gguf")
    a = ap.parse_args()
    if a.export_dir:
        for d in sorted(glob.glob(os.path.join(a.export_dir, "*"))):
            if os.path.exists(os.path.join(d, "config.json")):
                check_dir(d)
    if a.llama2c_dir:
        check_llama2c(a.llama2c_dir, a.gguf)


if __name__ == "__main__":
    sys.exit(main())

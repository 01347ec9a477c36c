#!/usr/bin/env python3
"""Checks Tessera's HF export with the reference implementations.

1. Every model directory under EXPORT_DIR (written by the round-trip tests when
   TESSERA_HF_EXPORT_DIR is set) must load with safetensors (numpy for f32/f16, torch for
   bf16), transformers.AutoConfig, and AutoModelForCausalLM with no missing or unexpected
   weights, and the loaded weights must equal the safetensors content.

2. With --llama2c-dir DIR (stories260K.bin converted by `tessera`/a test to HF) and
   --gguf FILE (the same model as GGUF), the weights must equal what transformers itself
   produces from the GGUF, which de-interleaves Q/K with its own code: an independent check
   of Tessera's llama2.c rotary permutation.

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


def check_llama2c(d, gguf):
    import torch
    import transformers
    ref = transformers.AutoModelForCausalLM.from_pretrained(
        os.path.dirname(gguf), gguf_file=os.path.basename(gguf), dtype=torch.float32).state_dict()
    ours = transformers.AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).state_dict()
    n = 0
    for k, v in ours.items():
        if k not in ref:
            continue
        assert torch.equal(v, ref[k]), k
        n += 1
    assert n >= 40, n
    print(f"ok llama2c->hf matches transformers' GGUF import on {n} tensors")


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

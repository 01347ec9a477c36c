#!/usr/bin/env python3
"""Writes the config.json fixtures under tests/data/hf/ with transformers itself, so the
C++ parser is tested against exactly what a real transformers release saves (not against
our own idea of the format). Re-run after upgrading transformers:

    python3 tools/make_hf_fixtures.py

Each fixture directory gets config.json (and generation_config.json where it matters)."""
import json
import os
import sys
import tempfile

import transformers
from transformers import (GenerationConfig, LlamaConfig, MistralConfig, Qwen2Config,
                          Qwen3Config)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "hf")


def save(name, cfg, gen=None):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    cfg.save_pretrained(d)
    if gen is not None:
        gen.save_pretrained(d)
    print(name, "->", d)


def main():
    # Llama 3.x style: GQA, llama3 rope scaling, tied embeddings, eos list.
    save("llama3_scaled", LlamaConfig(
        vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
        num_attention_heads=32, num_key_value_heads=8, head_dim=64,
        max_position_embeddings=131072, rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0,
                         "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 8192},
        tie_word_embeddings=True, bos_token_id=128000, eos_token_id=[128001, 128008, 128009]),
        GenerationConfig(bos_token_id=128000, eos_token_id=[128001, 128008, 128009]))
    # Plain llama defaults (nearly everything left to transformers' defaults).
    save("llama_defaults", LlamaConfig(vocab_size=32000, hidden_size=256,
                                       intermediate_size=688, num_hidden_layers=2,
                                       num_attention_heads=4))
    save("mistral", MistralConfig(
        vocab_size=32768, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, head_dim=128,
        max_position_embeddings=32768, rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        bos_token_id=1, eos_token_id=2))
    save("qwen2", Qwen2Config(
        vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
        num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
        rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        tie_word_embeddings=True, bos_token_id=151643, eos_token_id=151645),
        GenerationConfig(bos_token_id=151643, eos_token_id=[151645, 151643]))
    save("qwen3", Qwen3Config(
        vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
        num_attention_heads=16, num_key_value_heads=8, head_dim=128,
        max_position_embeddings=40960, rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        tie_word_embeddings=True, bos_token_id=151643, eos_token_id=151645))
    # A linear-scaled llama in the pre-5.x spelling (rope_theta at top level and
    # rope_scaling {"type": ...}), as many configs on the Hub still are. Written by hand
    # since transformers 5.x no longer saves this spelling; it must still load it.
    legacy = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": 32000, "hidden_size": 512, "intermediate_size": 1376,
        "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 8,
        "head_dim": None, "max_position_embeddings": 4096, "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0, "rope_scaling": {"type": "linear", "factor": 2.0},
        "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2,
        "torch_dtype": "float16",
    }
    d = os.path.join(OUT, "llama_legacy_linear")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(legacy, f, indent=2)
    # Check transformers itself accepts the hand-written one.
    c = transformers.AutoConfig.from_pretrained(d)
    assert c.model_type == "llama", c
    # A safetensors file written by the reference implementation, with values the C++
    # test recomputes: a[i] = 0.5 * i (F32 [2, 3]), b = [1.5, -2, 65504] (F16), and an
    # empty tensor, plus metadata.
    import numpy as np
    from safetensors.numpy import save_file
    save_file({"a": (np.arange(6, dtype=np.float32) * 0.5).reshape(2, 3),
               "b": np.array([1.5, -2, 65504], dtype=np.float16),
               "empty": np.zeros((0, 4), dtype=np.float32)},
              os.path.join(OUT, "tiny.safetensors"), metadata={"format": "pt", "note": "fixture"})
    print("transformers", transformers.__version__)


if __name__ == "__main__":
    sys.exit(main())

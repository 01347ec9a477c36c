#!/usr/bin/env python3
"""Writes tests/data/engine/*.safetensors: tiny random models with Hugging Face's logits.

Each file holds one model's weights (canonical HF names, bf16 to keep the files small;
HF computes in fp32 with exactly those values), plus
  _ref.prompt      I32 [n]        the prompt ids
  _ref.logits      F32 [n, vocab] transformers' fp32 logits for every prompt position
  _ref.greedy      I32 [m]        transformers' greedy continuation (no EOS)
and in the safetensors metadata "config": the hyper-parameters as JSON, in tessera's
ModelConfig field names. tests/engine_hf_fixture_test.cpp runs CpuEngine on them, so CI
checks the engine against an outside reference without Python or PyTorch.

Needs PyTorch and transformers (5.x). Deterministic: rerunning rewrites the same bytes
given the same library versions.
"""

import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "engine")

COMMON = dict(vocab_size=48, hidden_size=32, intermediate_size=32, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, head_dim=16,
              max_position_embeddings=64, rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2)

# name -> (config class, model class, extra config, tessera config overrides)
CASES = {
    # head_dim 16, theta 10000: wavelengths 6.3 (kept), 19.9 (smoothed), 62.8+ (divided)
    # against original_max 32 / high 4 = 8 and 32 / low 1 = 32.
    "llama3_scaled": ("LlamaConfig", "LlamaForCausalLM",
                      dict(rope_theta=10000.0, tie_word_embeddings=False,
                           rope_scaling={"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0,
                                         "high_freq_factor": 4.0, "original_max_position_embeddings": 32}),
                      dict(arch="llama", rope_scaling={"type": "llama3", "factor": 4.0, "low_freq_factor": 1.0,
                                                       "high_freq_factor": 4.0,
                                                       "original_max_position_embeddings": 32})),
    "qwen2_tied": ("Qwen2Config", "Qwen2ForCausalLM",
                   dict(rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False),
                   dict(arch="qwen2", attention_bias=True, tie_word_embeddings=True)),
    "qwen3": ("Qwen3Config", "Qwen3ForCausalLM",
              dict(rope_theta=1000000.0, tie_word_embeddings=False, attention_bias=False,
                   use_sliding_window=False),
              dict(arch="qwen3", qk_norm=True)),
}

PROMPT_LEN = 20
GREEDY = 16


def make(name, seed):
    cfg_cls, model_cls, extra, tess = CASES[name]
    cfg = getattr(transformers, cfg_cls)(**COMMON, **extra)
    cfg._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = getattr(transformers, model_cls)(cfg).float().eval()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.endswith("norm.weight"):
                v = 1.0 + 0.2 * torch.randn_like(p)
            elif pname.endswith(".bias"):
                v = 0.3 * torch.randn_like(p)
            elif "embed_tokens" in pname:
                v = torch.randn_like(p)
            else:
                gain = 4.0 if pname.endswith(("o_proj.weight", "down_proj.weight")) else 1.5
                v = torch.randn_like(p) * (gain / p.shape[1] ** 0.5)
            p.copy_(v.to(torch.bfloat16).float())  # HF runs fp32 on bf16-representable values

    g = torch.Generator().manual_seed(seed)
    prompt = torch.randint(3, COMMON["vocab_size"], (1, PROMPT_LEN), generator=g)
    with torch.no_grad():
        logits = model(prompt).logits[0].float()
        model.generation_config.eos_token_id = None
        model.generation_config.pad_token_id = 0
        out = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                             max_new_tokens=GREEDY, min_new_tokens=GREEDY)
    greedy = out[0, PROMPT_LEN:]

    tensors = {k: v.detach().to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()
               if not (cfg.tie_word_embeddings and k == "lm_head.weight")}
    tensors["_ref.prompt"] = prompt[0].to(torch.int32).contiguous()
    tensors["_ref.logits"] = logits.contiguous()
    tensors["_ref.greedy"] = greedy.to(torch.int32).contiguous()
    config = {k: COMMON[k] for k in ("vocab_size", "hidden_size", "intermediate_size", "num_attention_heads",
                                     "num_key_value_heads", "head_dim", "max_position_embeddings",
                                     "rms_norm_eps")}
    config.update(num_layers=COMMON["num_hidden_layers"], rope_theta=extra["rope_theta"],
                  tie_word_embeddings=False, attention_bias=False, qk_norm=False)
    config.update(tess)
    meta = {"config": json.dumps(config, sort_keys=True),
            "generator": f"tools/make_engine_fixtures.py, transformers {transformers.__version__}, "
                         f"torch {torch.__version__}"}
    path = os.path.join(OUT, f"{name}.safetensors")
    save_file(tensors, path, metadata=meta)
    print(f"{path}: {os.path.getsize(path)} bytes; greedy {greedy.tolist()}")


def main():
    os.makedirs(OUT, exist_ok=True)
    for i, name in enumerate(CASES):
        make(name, 100 + i)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Compare tessera's CPU reference engine with Hugging Face transformers (fp32).

transformers is the outside reference: nobody on this project wrote it. For each case the
script builds a small random-weight model with transformers, saves it as a safetensors
directory, and checks

  (1) logits: HF's full-sequence forward over a random prompt against
      `tessera logits --model DIR --tokens ... --out FILE.npy`; the max relative error
      per position, max|hf - tessera| / max|hf|, must be <= 1e-4;
  (2) greedy: HF `generate(do_sample=False, 64 new tokens)` against
      `tessera generate --model DIR --prompt-tokens ... --max-tokens 64 --temperature 0
      --ignore-eos --ids-out FILE.json`; all 64 ids must agree. At the first mismatch the
      HF top-2 logit margin there is printed (a tiny margin points at a near-tie, a large
      one at a real bug).

Weights are re-drawn with a larger spread than HF's default init (std 0.02), whose
near-uniform logits would make greedy decoding a coin toss between near-ties. One case
(llama3 rope scaling with a short original context) runs a 1500-token prompt because
RoPE scaling only matters far into the context.

Needs PyTorch + transformers 5.x. `--hf-only` runs just the HF side (build, save,
reference logits and greedy ids) on a machine without the tessera binary.

Usage: tools/hf_compare.py [--tessera build/tessera] [--out report.json]
                           [--models llama_tied,qwen3] [--workdir DIR] [--hf-only]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

LOGIT_TOL = 1e-4
GREEDY_TOKENS = 64

# name -> (config class name, config kwargs, prompt length)
COMMON = dict(
    vocab_size=1000,
    hidden_size=256,
    intermediate_size=512,
    num_hidden_layers=4,
    num_attention_heads=8,
    max_position_embeddings=2048,
    rms_norm_eps=1e-5,
    bos_token_id=1,
    eos_token_id=2,
)

CASES = {
    "llama_tied": ("LlamaConfig", dict(num_key_value_heads=2, head_dim=64, tie_word_embeddings=True,
                                       rope_theta=10000.0), 24),
    "llama_untied": ("LlamaConfig", dict(num_key_value_heads=4, head_dim=32, tie_word_embeddings=False,
                                         rope_theta=10000.0), 24),
    "llama3_scaled": ("LlamaConfig", dict(num_key_value_heads=2, head_dim=64, tie_word_embeddings=False,
                                          rope_theta=500000.0,
                                          rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                                        "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                        "original_max_position_embeddings": 256}), 24),
    "llama3_scaled_long": ("LlamaConfig", dict(num_key_value_heads=2, head_dim=64, tie_word_embeddings=False,
                                               rope_theta=500000.0,
                                               rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                                             "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                             "original_max_position_embeddings": 256}), 1500),
    "mistral": ("MistralConfig", dict(num_key_value_heads=2, head_dim=32, tie_word_embeddings=False,
                                      rope_theta=1000000.0, sliding_window=None), 24),
    "qwen2": ("Qwen2Config", dict(num_key_value_heads=2, tie_word_embeddings=True, rope_theta=1000000.0,
                                  use_sliding_window=False), 24),
    "qwen3": ("Qwen3Config", dict(num_key_value_heads=4, head_dim=64, tie_word_embeddings=False,
                                  rope_theta=1000000.0, attention_bias=False,
                                  use_sliding_window=False), 24),
}

MODEL_CLASSES = {
    "LlamaConfig": "LlamaForCausalLM",
    "MistralConfig": "MistralForCausalLM",
    "Qwen2Config": "Qwen2ForCausalLM",
    "Qwen3Config": "Qwen3ForCausalLM",
}


def build_model(name, seed):
    import torch
    import transformers

    cfg_cls, extra, _ = CASES[name]
    cfg = getattr(transformers, cfg_cls)(**COMMON, **extra)
    cfg._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = getattr(transformers, MODEL_CLASSES[cfg_cls])(cfg).float().eval()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif pname.endswith(".bias"):
                p.copy_(0.3 * torch.randn_like(p))
            elif "embed_tokens" in pname:
                p.copy_(torch.randn_like(p))
            else:  # linear [out, in]; layer outputs strong enough that the residual
                # stream is not dominated by the token's own embedding (with tied
                # embeddings that makes greedy decoding repeat the last token).
                gain = 4.0 if pname.endswith(("o_proj.weight", "down_proj.weight")) else 1.5
                p.copy_(torch.randn_like(p) * (gain / p.shape[1] ** 0.5))
    # Generation runs the full budget: no EOS, as with tessera's --ignore-eos.
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    return model


def hf_reference(model, prompt):
    import torch

    ids = torch.tensor([prompt], dtype=torch.long)
    with torch.no_grad():
        logits = model(ids).logits[0].float().numpy()
        out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                             max_new_tokens=GREEDY_TOKENS, min_new_tokens=GREEDY_TOKENS)
    greedy = out[0, len(prompt):].tolist()
    return logits, greedy


def hf_step_logits(model, ids):
    """HF logits for the next token after ids (for the margin at a mismatch)."""
    import torch

    with torch.no_grad():
        return model(torch.tensor([ids], dtype=torch.long)).logits[0, -1].float().numpy()


def run_tessera(binary, args):
    t0 = time.time()
    p = subprocess.run([binary] + args, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"tessera {args[0]} exited {p.returncode}: {p.stderr.strip()[-2000:]}")
    return time.time() - t0


def compare_case(name, args, workdir, seed):
    _, _, n_prompt = CASES[name]
    model_dir = os.path.join(workdir, name)
    model = build_model(name, seed)
    model.save_pretrained(model_dir, safe_serialization=True)

    rng = np.random.default_rng(seed)
    prompt = rng.integers(3, COMMON["vocab_size"], size=n_prompt).tolist()
    hf_logits, hf_greedy = hf_reference(model, prompt)
    np.save(os.path.join(model_dir, "hf_logits.npy"), hf_logits)
    with open(os.path.join(model_dir, "hf_greedy.json"), "w") as f:
        json.dump({"prompt": prompt, "generated": hf_greedy}, f)

    result = {"model": name, "prompt_tokens": n_prompt, "hf_greedy": hf_greedy}
    if args.hf_only:
        result["status"] = "hf-only"
        return result

    errors = []
    tokens = ",".join(map(str, prompt))
    # (1) logits
    try:
        npy = os.path.join(model_dir, "tessera_logits.npy")
        result["logits_seconds"] = run_tessera(
            args.tessera, ["logits", "--model", model_dir, "--tokens", tokens, "--out", npy])
        ts = np.load(npy)
        if ts.shape != hf_logits.shape:
            raise RuntimeError(f"tessera logits shape {ts.shape}, HF {hf_logits.shape}")
        rel = np.abs(ts.astype(np.float64) - hf_logits).max(axis=1) / np.abs(hf_logits).max(axis=1)
        worst = int(rel.argmax())
        result["max_rel_error"] = float(rel.max())
        result["worst_position"] = worst
        if not rel.max() <= LOGIT_TOL:
            errors.append(f"logits: max relative error {rel.max():.3g} at position {worst} > {LOGIT_TOL}")
    except Exception as e:  # noqa: BLE001 - report and go on with the next check
        errors.append(f"logits: {e}")

    # (2) greedy
    try:
        ids_json = os.path.join(model_dir, "tessera_ids.json")
        result["generate_seconds"] = run_tessera(
            args.tessera, ["generate", "--model", model_dir, "--prompt-tokens", tokens,
                           "--max-tokens", str(GREEDY_TOKENS), "--temperature", "0",
                           "--ignore-eos", "--ids-out", ids_json])
        with open(ids_json) as f:
            got = json.load(f)
        ts_greedy = got["generated"]
        if got.get("prompt") != prompt:
            errors.append("greedy: tessera echoed a different prompt")
        same = sum(1 for a, b in zip(hf_greedy, ts_greedy) if a == b)
        result["greedy_match"] = same
        result["tessera_greedy"] = ts_greedy
        if len(ts_greedy) != GREEDY_TOKENS or ts_greedy != hf_greedy:
            first = next((i for i, (a, b) in enumerate(zip(hf_greedy, ts_greedy)) if a != b),
                         min(len(hf_greedy), len(ts_greedy)))
            msg = f"greedy: {same}/{GREEDY_TOKENS} tokens agree, {len(ts_greedy)} generated; first mismatch at {first}"
            if first < min(len(hf_greedy), len(ts_greedy)):
                step = hf_step_logits(model, prompt + hf_greedy[:first])
                top2 = np.sort(step)[-2:]
                result["first_mismatch_hf_margin"] = float(top2[1] - top2[0])
                msg += (f" (HF {hf_greedy[first]} vs tessera {ts_greedy[first]};"
                        f" HF top-2 margin {top2[1] - top2[0]:.3g})")
            errors.append(msg)
    except Exception as e:  # noqa: BLE001
        errors.append(f"greedy: {e}")

    result["errors"] = errors
    result["status"] = "ok" if not errors else "FAIL"
    return result


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tessera", default=os.path.join(here, "..", "build", "tessera"),
                    help="path to the tessera binary (default: build/tessera)")
    ap.add_argument("--out", help="write a JSON report here")
    ap.add_argument("--models", help="comma-separated subset of: " + ",".join(CASES))
    ap.add_argument("--workdir", help="keep the saved models here (default: a temp dir, removed)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--hf-only", action="store_true",
                    help="only build the models and compute the HF side (no tessera binary needed)")
    args = ap.parse_args()

    names = list(CASES) if not args.models else [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    if not args.hf_only and not os.access(args.tessera, os.X_OK):
        ap.error(f"tessera binary not found or not executable: {args.tessera} (use --tessera)")

    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as e:
        sys.exit(f"hf_compare.py needs PyTorch and transformers: {e}")

    tmp = None
    workdir = args.workdir
    if not workdir:
        tmp = tempfile.TemporaryDirectory(prefix="tessera-hf-compare-")
        workdir = tmp.name
    os.makedirs(workdir, exist_ok=True)

    results = []
    for i, name in enumerate(names):
        print(f"[{i + 1}/{len(names)}] {name} ...", flush=True)
        try:
            results.append(compare_case(name, args, workdir, args.seed + i))
        except Exception as e:  # noqa: BLE001 - a broken case must not hide the others
            results.append({"model": name, "status": "FAIL", "errors": [f"{type(e).__name__}: {e}"]})

    print()
    print(f"{'model':<20} {'prompt':>6} {'max rel err':>12} {'worst pos':>9} {'greedy':>7}  status")
    for r in results:
        err = f"{r['max_rel_error']:.3g}" if "max_rel_error" in r else "-"
        pos = str(r.get("worst_position", "-"))
        greedy = f"{r['greedy_match']}/{GREEDY_TOKENS}" if "greedy_match" in r else "-"
        print(f"{r['model']:<20} {r.get('prompt_tokens', '-'):>6} {err:>12} {pos:>9} {greedy:>7}  {r['status']}")
        for e in r.get("errors", []):
            print(f"    {e}")

    if args.out:
        with open(args.out, "w") as f:
            json.dump({"tolerance": LOGIT_TOL, "greedy_tokens": GREEDY_TOKENS, "results": results}, f, indent=1)
    if tmp:
        tmp.cleanup()
    failed = [r for r in results if r["status"] == "FAIL"]
    if failed:
        print(f"\n{len(failed)} of {len(results)} cases FAILED")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

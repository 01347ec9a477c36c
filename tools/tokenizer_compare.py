#!/usr/bin/env python3
"""Compare Tessera's tokenizers with Hugging Face `tokenizers` on generated strings.

Usage:
  tokenizer_compare.py gen --n 1200 --seed 1 --out strings.jsonl
  tokenizer_compare.py builtin --harness build/tessera_tests --kind gpt2|spm --vocab-size N
      (writes the built-in vocabulary's tokenizer.json with write_tokenizer_json, then checks
       HF tokenizers on that file encodes like Tessera's VocabSpec tokenizer)
  tokenizer_compare.py compare --reference tokenizer.json --in strings.jsonl
      (--tessera BIN --model PATH [--tokenizer PATH]      # the CLI contract
       | --harness build/tessera_tests (--tokenizer-json PATH | --gguf PATH))
      [--no-special] [--reference-digits]

`compare` encodes every string with the reference (HF tokenizers loaded from
--reference) and with Tessera, and reports how many id sequences match exactly.
--reference-digits rewrites the reference's pre-tokenizer to
Sequence[Digits(individual_digits), ByteLevel] (what llama.cpp's "smollm"/"starcoder"
pre-tokenizer means; transformers' GGUF conversion drops the Digits step).
--gguf dumps the GGUF vocabulary (gguf-py) to JSON for the C++ harness.
Exit status 1 when any string differs.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

WORDS = ("the quick brown fox jumps over lazy dog Once upon a time there was little girl named "
         "Lily she loved to play outside in park tokenizer model weights kernel GPU don't "
         "we'll it's I'm they've you'd can't HELLO World CamelCase snake_case").split()
UNICODE = ["café", "naïve", "résumé", "Zürich", "Ångström", "façade", "日本語のテキスト", "中文分词测试",
           "한국어 문장", "Привет, мир", "Ελληνικά", "שלום עולם", "مرحبا بالعالم", "हिन्दी पाठ",
           "ภาษาไทย", "e\u0301", "a\u0308o\u0308", "n\u0303", "Z\u0351\u0364a\u0367", "ﬁ ligature",
           "①②③", "½ ¾", "٣٤٥", "१२३", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u200b zero\u200dwidth", "\u00a0nbsp\u2003em"]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇺🇸", "🤖", "🧑🏿‍💻", "✨", "🎉🎉"]
SPECIALS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]
CODE = ["def f(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
        "if x == 1:\n        pass\n    else:\n        y = [1, 2, 3]", "#include <stdio.h>\r\nint main() {}\r\n",
        "SELECT * FROM t WHERE id=42;", "x = {'a': 1, \"b\": [2.5e-3, -7]}", "    indented\n\n\n  more"]
NUMBERS = ["123", "3.14159", "1,000,000", "2024-01-15", "0x1F", "007", "12345678901234567890", "-42", "1e10"]
WS = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\t\t", "    ", "\u3000", " \t \n"]


def gen_strings(n, seed):
    rng = random.Random(seed)
    out = ["", " ", "Once upon a time", "Hello world", "<|im_start|>user\nhi<|im_end|>",
           "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n"]
    pools = [WORDS, UNICODE, EMOJI, CODE, NUMBERS, WS]
    while len(out) < n:
        kind = rng.randrange(8)
        if kind == 0:  # prose
            s = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 20)))
            if rng.random() < 0.5:
                s = s.capitalize() + rng.choice([".", "!", "?", "...", ""])
        elif kind == 1:  # mixed pools
            parts = []
            for _ in range(rng.randint(1, 10)):
                parts.append(rng.choice(rng.choice(pools)))
                parts.append(rng.choice(["", " ", "", "\n", ", "]))
            s = "".join(parts)
        elif kind == 2:  # code
            s = rng.choice(CODE) + rng.choice(WS) + rng.choice(CODE)
        elif kind == 3:  # whitespace runs
            s = "".join(rng.choice(WS) + rng.choice(WORDS) for _ in range(rng.randint(1, 6))) + rng.choice(WS)
        elif kind == 4:  # numbers
            s = " ".join(rng.choice(NUMBERS + [str(rng.randint(0, 10**rng.randint(1, 12)))])
                         for _ in range(rng.randint(1, 6)))
        elif kind == 5:  # special tokens inline
            s = (rng.choice(SPECIALS) + rng.choice(["user", "assistant", "system"]) + "\n" +
                 " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 8))) + rng.choice(SPECIALS) +
                 rng.choice(["", "\n", " "]))
        elif kind == 6:  # random code points from assorted blocks
            blocks = [(0x20, 0x7e), (0xa0, 0x24f), (0x370, 0x3ff), (0x400, 0x4ff), (0x590, 0x6ff),
                      (0x900, 0x97f), (0x3040, 0x30ff), (0x4e00, 0x4fff), (0xac00, 0xacff),
                      (0x1f300, 0x1f64f), (0x2000, 0x206f)]
            s = ""
            for _ in range(rng.randint(1, 25)):
                lo, hi = rng.choice(blocks)
                c = rng.randint(lo, hi)
                if 0xd800 <= c <= 0xdfff:
                    continue
                s += chr(c)
        else:  # emoji and combining marks
            s = "".join(rng.choice(EMOJI + UNICODE[-12:] + WORDS) + rng.choice(["", " "])
                        for _ in range(rng.randint(1, 8)))
        out.append(s)
    return out[:n]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def dump_gguf_vocab(gguf_path, out_path):
    from gguf import GGUFReader
    r = GGUFReader(gguf_path)

    def val(key, default=None):
        f = r.fields.get(key)
        return default if f is None else f.contents()

    spec = {"model": val("tokenizer.ggml.model"), "tokens": val("tokenizer.ggml.tokens"),
            "token_types": val("tokenizer.ggml.token_type", []), "merges": val("tokenizer.ggml.merges", []),
            "scores": val("tokenizer.ggml.scores", []), "pre": val("tokenizer.ggml.pre", "default"),
            "bos_id": val("tokenizer.ggml.bos_token_id", -1), "eos_id": val("tokenizer.ggml.eos_token_id", -1),
            "unk_id": val("tokenizer.ggml.unknown_token_id", -1),
            "add_bos": bool(val("tokenizer.ggml.add_bos_token", True)),
            "add_eos": bool(val("tokenizer.ggml.add_eos_token", False)),
            "add_space_prefix": bool(val("tokenizer.ggml.add_space_prefix", True))}
    for k in ("bos_id", "eos_id", "unk_id"):
        if spec[k] is None or spec[k] >= 2**31:
            spec[k] = -1
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(spec, f, ensure_ascii=False)


def reference_ids(args, strings):
    from tokenizers import Tokenizer
    with open(args.reference, encoding="utf-8") as f:
        j = json.load(f)
    if args.reference_digits:
        j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    tok = Tokenizer.from_str(json.dumps(j))
    return [tok.encode(s, add_special_tokens=not args.no_special).ids for s in strings]


def tessera_ids(args, in_path, tmp):
    out_path = os.path.join(tmp, "ids.jsonl")
    if args.harness:
        job = {"in": in_path, "out": out_path, "add_special": not args.no_special}
        if args.gguf:
            vj = os.path.join(tmp, "vocab.json")
            dump_gguf_vocab(args.gguf, vj)
            job["vocab_json"] = vj
        else:
            job["tokenizer_json"] = args.tokenizer_json or args.reference
        jp = os.path.join(tmp, "job.json")
        with open(jp, "w") as f:
            json.dump(job, f)
        env = dict(os.environ, TESSERA_TOKCMP_JOB=jp)
        subprocess.run([args.harness, "--gtest_filter=TokenizerCompareHarness.*"], env=env, check=True,
                       stdout=subprocess.DEVNULL if not args.verbose else None)
    else:
        cmd = [args.tessera, "tokenize", "--in", in_path, "--out", out_path]
        if args.model:
            cmd += ["--model", args.model]
        if args.tokenizer:
            cmd += ["--tokenizer", args.tokenizer]
        if args.no_special:
            cmd.append("--no-special")
        subprocess.run(cmd, check=True)
    return read_jsonl(out_path)


def builtin(args):
    from tokenizers import Tokenizer
    with tempfile.TemporaryDirectory() as tmp:
        in_path = os.path.join(tmp, "strings.jsonl")
        strings = gen_strings(args.n, args.seed)
        with open(in_path, "w", encoding="utf-8") as f:
            for s in strings:
                f.write(json.dumps(s, ensure_ascii=False) + "\n")
        out_path, tj, jp = (os.path.join(tmp, x) for x in ("ids.jsonl", "tokenizer.json", "job.json"))
        with open(jp, "w") as f:
            json.dump({"in": in_path, "out": out_path, "add_special": True,
                       "builtin": {"vocab_size": args.vocab_size, "kind": args.kind, "write_json": tj}}, f)
        subprocess.run([args.harness, "--gtest_filter=TokenizerCompareHarness.*"], check=True,
                       env=dict(os.environ, TESSERA_TOKCMP_JOB=jp), stdout=subprocess.DEVNULL)
        ours = read_jsonl(out_path)
        tok = Tokenizer.from_file(tj)
        ref = [tok.encode(s).ids for s in strings]
        dec_ok = sum(tok.decode(r, skip_special_tokens=True) == s for r, s in zip(ref, strings))
    bad = [i for i in range(len(ref)) if ref[i] != ours[i]]
    print(f"builtin {args.kind} {args.vocab_size}: {len(ref) - len(bad)}/{len(ref)} strings match; "
          f"HF decode round trip {dec_ok}/{len(ref)}")
    for i in bad[:10]:
        print(f"  MISMATCH {json.dumps(strings[i], ensure_ascii=False)}\n    ref  {ref[i]}\n    ours {ours[i]}")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--n", type=int, default=1200)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--out", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--reference", required=True, help="tokenizer.json for HF tokenizers")
    c.add_argument("--in", dest="inp", help="strings.jsonl (default: generate 1200 with seed 1)")
    c.add_argument("--tessera"); c.add_argument("--model"); c.add_argument("--tokenizer")
    c.add_argument("--harness"); c.add_argument("--tokenizer-json"); c.add_argument("--gguf")
    c.add_argument("--no-special", action="store_true")
    c.add_argument("--reference-digits", action="store_true")
    c.add_argument("--verbose", action="store_true")
    b = sub.add_parser("builtin")
    b.add_argument("--harness", required=True)
    b.add_argument("--kind", choices=["gpt2", "spm"], required=True)
    b.add_argument("--vocab-size", type=int, default=1000)
    b.add_argument("--n", type=int, default=1200)
    b.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.cmd == "builtin":
        return builtin(args)

    if args.cmd == "gen":
        with open(args.out, "w", encoding="utf-8") as f:
            for s in gen_strings(args.n, args.seed):
                f.write(json.dumps(s, ensure_ascii=False) + "\n")
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        in_path = args.inp
        if not in_path:
            in_path = os.path.join(tmp, "strings.jsonl")
            with open(in_path, "w", encoding="utf-8") as f:
                for s in gen_strings(1200, 1):
                    f.write(json.dumps(s, ensure_ascii=False) + "\n")
        strings = read_jsonl(in_path)
        ref = reference_ids(args, strings)
        ours = tessera_ids(args, in_path, tmp)
    if len(ours) != len(ref):
        print(f"tessera produced {len(ours)} lines for {len(ref)} strings")
        return 1
    bad = [i for i in range(len(ref)) if ref[i] != ours[i]]
    print(f"{len(ref) - len(bad)}/{len(ref)} strings match")
    for i in bad[:10]:
        print(f"  MISMATCH {json.dumps(strings[i], ensure_ascii=False)}\n    ref  {ref[i]}\n    ours {ours[i]}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

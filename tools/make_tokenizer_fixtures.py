#!/usr/bin/env python3
"""Builds the small tokenizer fixtures under tests/data/tokenizer/ with Hugging Face
`tokenizers` (an outside reference): a byte-level BPE (GPT-2 style), a SentencePiece-style
BPE with byte fallback (Llama 2 style, Prepend/Replace normalizer) and the same model with
the older Metaspace pre-tokenizer, each trained on a tiny text, plus the ids `tokenizers`
produces for a set of strings (expected.json). Re-run to regenerate:
  python3 tools/make_tokenizer_fixtures.py tests/data/tokenizer
"""
import json
import os
import sys

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

CORPUS = [
    "Once upon a time there was a little girl named Lily. She loved to play outside in the park.",
    "One day she saw a big red ball. She wanted to play with it, so she ran to get it.",
    "The tokenizer splits text into tokens; the model reads the tokens and writes new ones.",
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))  # 5",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 2024 3.14",
    "Café, naïve, résumé — 日本語 中文 한국어 Привет мир 😀 👍",
]
STRINGS = [
    "", " ", "a", "Once upon a time", "Once upon a time there was a little girl.", "  two  spaces",
    "tab\tand\nnewline\r\ncrlf", "trailing space ", "Lily loved the park!", "print(add(2, 3))",
    "    indented code\n        more", "1234567890", "3.14159 and 2024", "Café naïve résumé",
    "日本語のテキスト", "Привет, мир!", "emoji 😀👍🏽 and ZWJ 👨‍👩‍👧", "e\u0301 combining",
    "שלום עולם", "unknown: ∮ ⊕ 𝔘", "<s>hello</s>", "hi <|im_start|>user\nhey<|im_end|>",
    "don't we'll it's", "CamelCaseWord snake_case_word", "\n\n\n", "x" * 50,
]


def train(model, trainer, tok_setup, corpus):
    tok = Tokenizer(model)
    tok_setup(tok)
    tok.train_from_iterator(corpus, trainer)
    return tok


def byte_level():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=420, min_frequency=1, show_progress=False,
                                  special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS * 3, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<|im_start|> $A <|im_end|>", pair="<|im_start|> $A $B <|im_end|>",
        special_tokens=[("<|im_start|>", tok.token_to_id("<|im_start|>")),
                        ("<|im_end|>", tok.token_to_id("<|im_end|>"))])
    return tok


def spm_style(metaspace):
    # Train on "▁"-joined words, then lay the vocabulary out as Llama 2 does:
    # <unk> <s> </s> <0x00>..<0xFF>, then the learned pieces.
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    trainer = trainers.BpeTrainer(vocab_size=300, min_frequency=1, show_progress=False, special_tokens=[])
    tok.train_from_iterator(CORPUS * 3, trainer)
    j = json.loads(tok.to_str())
    learned = sorted(j["model"]["vocab"].items(), key=lambda kv: kv[1])
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for t, _ in learned:
        if t not in vocab:
            vocab[t] = len(vocab)
    j["model"]["vocab"] = vocab
    j["added_tokens"] = [
        {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True} for i, c in enumerate(["<unk>", "<s>", "</s>"])]
    j["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
    if metaspace:
        j["normalizer"] = None
        j["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
        j["decoder"] = {"type": "Sequence", "decoders": [
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}]}
    else:
        j["pre_tokenizer"] = None
        j["decoder"] = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    return Tokenizer.from_str(json.dumps(j))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/tokenizer"
    os.makedirs(out, exist_ok=True)
    expected = {}
    for name, tok in [("bytelevel_bpe", byte_level()), ("spm_bpe", spm_style(False)),
                      ("spm_bpe_metaspace", spm_style(True))]:
        path = os.path.join(out, name + ".json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps(json.loads(tok.to_str()), ensure_ascii=False, separators=(",", ":")))
        tok = Tokenizer.from_file(path)  # what the C++ test will read
        expected[name] = [{"text": s, "ids": tok.encode(s, add_special_tokens=False).ids,
                           "ids_special": tok.encode(s, add_special_tokens=True).ids} for s in STRINGS]
    with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=0)


if __name__ == "__main__":
    main()

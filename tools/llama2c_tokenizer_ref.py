#!/usr/bin/env python3
"""Independent re-implementation of llama2.c run.c's encode() (written from its
description: dummy " " prefix, per-codepoint lookup with byte fallback id = byte + 3, then
repeatedly merging the adjacent pair with the highest-scoring concatenation, leftmost on
ties) used to pin expected ids in tests/tokenizer_llama2c_test.cpp.
  python3 tools/llama2c_tokenizer_ref.py /path/to/tok512.bin "Once upon a time" ...
"""
import json
import struct
import sys


def load(path):
    data = open(path, "rb").read()
    pos = 4
    vocab, scores = [], []
    while pos < len(data):
        score, n = struct.unpack_from("<fi", data, pos)
        pos += 8
        vocab.append(data[pos:pos + n])
        pos += n
        scores.append(score)
    return vocab, scores


def encode(vocab, scores, text, bos=True):
    index = {}
    for i, t in enumerate(vocab):
        index.setdefault(t, i)
    ids = [1] if bos else []
    if not text:
        return ids
    toks = [index[b" "]]
    for ch in text:
        b = ch.encode("utf-8")
        if b in index:
            toks.append(index[b])
        else:
            toks.extend(x + 3 for x in b)
    while True:
        best, best_i, best_id = -1e10, -1, -1
        for i in range(len(toks) - 1):
            cat = vocab[toks[i]] + vocab[toks[i + 1]]
            j = index.get(cat)
            if j is not None and scores[j] > best:
                best, best_i, best_id = scores[j], i, j
        if best_i < 0:
            break
        toks[best_i:best_i + 2] = [best_id]
    return ids + toks


if __name__ == "__main__":
    v, s = load(sys.argv[1])
    for text in sys.argv[2:]:
        print(json.dumps(text, ensure_ascii=False), encode(v, s, text))

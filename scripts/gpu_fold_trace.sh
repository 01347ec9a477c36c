#!/usr/bin/env bash
# One traced step of a shape's default plan and of the plan with attention folded into the
# o projection (fold_attention=on), at one position: the per-stage summary of two layers.
#   scripts/gpu_fold_trace.sh [SHAPE] [POS]      binaries from $BIN (default carry/bin)
set -u
S=${1:-llama-3.2-1b}
P=${2:-1}
BIN=${BIN:-carry/bin}
for v in fold default; do
  k=()
  [ $v = fold ] && k=(--knob fold_attention=on)
  "$BIN/tessera" compile --shape "$S" --context 16 "${k[@]}" --out "/tmp/$v.json" > /dev/null || exit 1
  echo "== $v"
  "$BIN/tessera" bench --shape "$S" --plan "/tmp/$v.json" --positions "$P" --steps 30 --trace "/tmp/tr_$v" 2>&1 |
    grep -E "median|^step|^stage|l3\.|l4\.|stages:"
done

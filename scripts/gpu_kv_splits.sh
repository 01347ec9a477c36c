#!/usr/bin/env bash
# kv_splits against the lowering's choice at one context: plans lowered with --context CTX,
# `bench --compare` (interleaved pairs) at each position, for each split count given.
#   scripts/gpu_kv_splits.sh SHAPE CTX POSITIONS SPLITS...
# Binaries from $BIN (default carry/bin); plans and logs under $OUT.
set -u
SHAPE=${1:?usage: gpu_kv_splits.sh SHAPE CTX POSITIONS SPLITS...}
CTX=${2:?context}
POS=${3:?positions}
shift 3
BIN=${BIN:-carry/bin}
OUT=${OUT:-gpu_kv_splits_out}
mkdir -p "$OUT"
"$BIN/tessera" compile --shape "$SHAPE" --context "$CTX" --out "$OUT/default.json" | tail -1 || exit 1
for n in "$@"; do
  "$BIN/tessera" compile --shape "$SHAPE" --context "$CTX" --knob kv_splits="$n" --out "$OUT/splits$n.json" > /dev/null || exit 1
  echo "== $SHAPE context $CTX: A = kv_splits=$n, B = default"
  timeout --signal=KILL 300 "$BIN/tessera" bench --shape "$SHAPE" --positions "$POS" --steps "${STEPS:-100}" \
    --compare "$OUT/splits$n.json" "$OUT/default.json" > "$OUT/splits$n.log" 2>&1
  grep -E "compare|rror" "$OUT/splits$n.log" | head -8
done

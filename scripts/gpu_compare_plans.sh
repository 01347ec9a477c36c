#!/usr/bin/env bash
# Two lowerings of each shape timed against each other with `bench --compare` (interleaved
# A B A B, ratio per pair): the default plan against one lowered with the knobs given.
#   scripts/gpu_compare_plans.sh SHAPES POSITIONS KNOB=VALUE [KNOB=VALUE ...]
# Binaries from $BIN (default carry/bin); plans and logs under $OUT.
set -u
SHAPES=${1:?usage: gpu_compare_plans.sh SHAPES POSITIONS KNOB=VALUE ...}
POS=${2:?positions}
shift 2
BIN=${BIN:-carry/bin}
OUT=${OUT:-gpu_compare_out}
mkdir -p "$OUT"
max=0
for p in ${POS//,/ }; do [ "$p" -gt "$max" ] && max=$p; done
ctx=$((max + 1 > 16 ? max + 1 : 16))
knobs=()
for k in "$@"; do knobs+=(--knob "$k"); done
for s in ${SHAPES//,/ }; do
  "$BIN/tessera" compile --shape "$s" --context "$ctx" "${knobs[@]}" --out "$OUT/${s}_knobs.json" > /dev/null &&
  "$BIN/tessera" compile --shape "$s" --context "$ctx" --out "$OUT/${s}_default.json" > /dev/null || exit 1
  echo "== $s: A = $* , B = default"
  timeout --signal=KILL 300 "$BIN/tessera" bench --shape "$s" --positions "$POS" --steps "${STEPS:-100}" \
    --compare "$OUT/${s}_knobs.json" "$OUT/${s}_default.json" > "$OUT/${s}_compare.log" 2>&1
  grep -E "compare|ratio|median|rror" "$OUT/${s}_compare.log" | head -12
done

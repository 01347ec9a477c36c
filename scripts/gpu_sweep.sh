#!/usr/bin/env bash
# Times plans lowered with different knobs for one shape (megakernel only), to choose the
# lowering's defaults from measurements: scripts/gpu_sweep.sh SHAPE POSITIONS "KNOBS1" "KNOBS2" ...
# where each KNOBS is a space-separated list of key=value (empty string: the defaults).
# Binaries from $BIN (default carry/bin); plans, logs and records under $OUT.
set -u
SHAPE=${1:?usage: gpu_sweep.sh SHAPE POSITIONS KNOBS...}
POSITIONS=${2:?positions}
shift 2
BIN=${BIN:-carry/bin}
OUT=${OUT:-gpu_sweep_out}
mkdir -p "$OUT"
ctx=$(( $(tr ',' '\n' <<< "$POSITIONS" | sort -n | tail -1) + 1 ))
sms=${SMS:-132}  # the H100 SXM / H200 have 132 SMs
i=0
for knobs in "$@"; do
  i=$((i + 1))
  args=()
  for kv in $knobs; do args+=(--knob "$kv"); done
  plan="$OUT/plan_$i.json"
  "$BIN/tessera" compile --shape "$SHAPE" --sms "$sms" --context "$ctx" "${args[@]}" --out "$plan" > "$OUT/compile_$i.log" 2>&1 \
    || { echo "[$i] '$knobs': compile failed: $(tail -1 "$OUT/compile_$i.log")"; continue; }
  timeout --signal=KILL 200 "$BIN/tessera" bench --shape "$SHAPE" --plan "$plan" --positions "$POSITIONS" \
    --steps "${STEPS:-50}" --json "$OUT/sweep_$i.json" > "$OUT/bench_$i.log" 2>&1
  echo "[$i] '${knobs:-defaults}':"
  grep -E "^bench: megakernel .*median|measurement error|error" "$OUT/bench_$i.log" | sed 's/^/    /'
done

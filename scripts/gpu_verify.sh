#!/usr/bin/env bash
# Issue 5's end-to-end verification on a lent GPU: `tessera check --backend cuda` against the
# CPU reference engine, on the same (bf16-rounded) weights, for the built-in shapes and the
# real stories260K checkpoint; 64 greedy steps each, teacher-forced. Expects the binaries
# built on the build machine in $BIN (default carry/bin) and the checkpoint in
# $MODELS (default carry/shared/models). Logs to $OUT. Exit status: number of failed checks.
set -u
BIN=${BIN:-carry/bin}
MODELS=${MODELS:-carry/shared/models}
OUT=${OUT:-gpu_verify_out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"
failed=0
run() {  # run NAME TIMEOUT ARGS...
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  timeout --signal=KILL "$limit" "$BIN/tessera" check --backend cuda --steps 64 "$@" > "$OUT/check_$name.log" 2>&1
  local rc=$?
  [ $rc -ne 0 ] && failed=$((failed + 1))
  printf '%-14s rc=%-3s %4ss  %s\n' "$name" "$rc" "$((SECONDS - t0))" "$(grep -m1 'positions:' "$OUT/check_$name.log")"
}
run stories260k-real 60 --model "$MODELS/stories260K.bin" --bf16-weights --tokens 1,403,407,261,378
for s in tiny stories260k smollm2-135m qwen2.5-0.5b llama-3.2-1b; do
  run "$s" 120 --shape "$s" --bf16-weights
done
run llama-3-8b 300 --shape llama-3-8b --bf16-weights --threads 16
echo "gpu_verify: $failed failed"
exit $failed

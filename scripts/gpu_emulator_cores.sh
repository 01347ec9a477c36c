#!/usr/bin/env bash
# Issue 4's emulator speed on a many-core host (the GPU machines have 16 cores): the
# llama-3.2-1b default plan emulated with shadow state on, both dispatch modes alternated,
# each run printing emulator and reference-engine ms/step (check_against_reference).
#   scripts/gpu_emulator_cores.sh [ROUNDS]
# Binaries from $BIN (default carry/bin); logs under $OUT (default emu_cores_out).
set -u
BIN=${BIN:-carry/bin}
OUT=${OUT:-emu_cores_out}
ROUNDS=${1:-2}
mkdir -p "$OUT"
echo "cores: $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
"$BIN/tessera" compile --shape llama-3.2-1b --arch sm_90a --context 16 --out "$OUT/plan.json" > /dev/null || exit 1
for r in $(seq 1 "$ROUNDS"); do
  for d in rounds free; do
    log="$OUT/emulate_${d}_${r}.log"
    timeout --signal=KILL 240 "$BIN/tessera" emulate --plan "$OUT/plan.json" --shape llama-3.2-1b --tokens 1,5 \
      --steps 1 --numerics fp32 --dispatch "$d" > "$log" 2>&1
    echo "round $r $d: rc=$? $(grep -iE 'ms/step|result' "$log" | tr '\n' ' ')"
  done
done

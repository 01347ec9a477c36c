#!/usr/bin/env bash
# Two builds of tessera timed against each other on the same GPU: benches alternate
# A B A B ... for ROUNDS rounds (default 3), so drift in clocks or temperature hits both.
#   scripts/gpu_ab.sh A_BINARY B_BINARY SHAPES POSITIONS
# A side may also be a command with settings in front, one binary under two environments:
#   scripts/gpu_ab.sh "env TESSERA_EARLY_LOADS=0 carry/bin/tessera" carry/bin/tessera llama-3.2-1b 1
# Prints each bench's median line; logs under $OUT (default gpu_ab_out).
set -u
A=${1:?usage: gpu_ab.sh A_BINARY B_BINARY SHAPES POSITIONS}
B=${2:?B binary}
SHAPES=${3:?shapes}
POS=${4:?positions}
OUT=${OUT:-gpu_ab_out}
mkdir -p "$OUT"
for s in ${SHAPES//,/ }; do
  for r in $(seq 1 "${ROUNDS:-3}"); do
    for side in A B; do
      bin=$A; [ "$side" = B ] && bin=$B
      log="$OUT/${s}_${side}_${r}.log"
      # $bin unquoted: a side may be "env VAR=VALUE binary" (paths without spaces).
      timeout --signal=KILL 200 $bin bench --shape "$s" --backend megakernel --positions "$POS" \
        --steps "${STEPS:-100}" --warmup 10 > "$log" 2>&1
      echo "$s $side round $r: $(grep -oE 'median [0-9.]+ ms.*-> [0-9.]+x' "$log" | head -1)"
    done
  done
done

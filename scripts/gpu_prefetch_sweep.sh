#!/usr/bin/env bash
# L2 prefetch before waits (device/l2_prefetch.cuh): the GPU tests with it on, then step
# time against TESSERA_L2_PREFETCH_BYTES for ahead = 0 and 1 (scripts/gpu_env_sweep.sh).
#   scripts/gpu_prefetch_sweep.sh [SHAPES] [POSITIONS] ["BYTES VALUES"]
set -u
SHAPES=${1:-llama-3.2-1b}
POS=${2:-1}
VALUES=${3:-0 262144 1048576 8388608}
BIN=${BIN:-carry/bin}
OUT=${OUT:-gpu_prefetch_out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader
if [ "${TESTS:-1}" = 1 ]; then
  TESSERA_L2_PREFETCH_BYTES=1048576 timeout 300 "$BIN/tessera_cuda_tests" > "$OUT/tests_prefetch.log" 2>&1
  echo "tests with prefetch on: rc=$?"; grep -E "PASSED|FAILED" "$OUT/tests_prefetch.log" | head -5
fi
for ahead in ${AHEAD:-0 1}; do
  TESSERA_L2_PREFETCH_AHEAD=$ahead OUT="$OUT/ahead$ahead" BIN="$BIN" \
    scripts/gpu_env_sweep.sh TESSERA_L2_PREFETCH_BYTES "$VALUES" "$SHAPES" "$POS" 2>&1 | sed "s/^== /== ahead=$ahead /"
done

#!/usr/bin/env bash
# The weight stream on a lent GPU, in one device call: its instruction tests (every weight
# path must give the plain-load path's bits) and end-to-end tests, then megakernel step
# times with the ring off and with several slot sizes (TESSERA_RING_BYTES /
# TESSERA_RING_SLOT_BYTES), one traced step per shape for the stage summary.
# Usage: scripts/gpu_ring.sh [SHAPES] [SLOTS] ; binaries from $BIN (default carry/bin), logs to $OUT.
set -u
SHAPES=${1:-llama-3.2-1b,llama-3-8b}
SLOTS=${2:-2048,4096,8192}
BIN=${BIN:-carry/bin}
OUT=${OUT:-gpu_ring_out}
POS=${POS:-1}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv > "$OUT/gpu.txt" 2>&1
failed=0
if [ "${TESTS:-1}" = 1 ]; then
  timeout --signal=KILL 240 "$BIN/tessera_cuda_tests" --gtest_filter="${FILTER:-CudaInstr.*:CudaEngine.*}" > "$OUT/tests.log" 2>&1 \
    || failed=$((failed + 1))
  grep -E "^\[  (PASSED|FAILED) |^\[  FAILED  \]|Failure|differs" "$OUT/tests.log" | head -30
fi
for s in ${SHAPES//,/ }; do
  for setting in off ${SLOTS//,/ }; do
    if [ "$setting" = off ]; then env=(TESSERA_RING_BYTES=0); else env=(TESSERA_RING_SLOT_BYTES=$setting); fi
    extra=()
    [ "$setting" = off ] || [ "$setting" = 4096 ] && extra=(--trace "$OUT/trace_${s}_$setting")
    timeout --signal=KILL 200 env "${env[@]}" "$BIN/tessera" bench --shape "$s" --backend megakernel \
      --positions "$POS" --steps 100 --warmup 10 --json "$OUT/ring_${s}_$setting.json" "${extra[@]}" \
      > "$OUT/bench_${s}_$setting.log" 2>&1 || failed=$((failed + 1))
    echo "== $s ring $setting"; grep -E "^bench: .*median|measurement error|rror" "$OUT/bench_${s}_$setting.log" | head -5
  done
  for f in off 4096; do echo "-- trace $s $f"; grep -A12 "^step " "$OUT/bench_${s}_$f.log" | head -14; done
done
echo "gpu_ring: $failed failed"
exit $failed

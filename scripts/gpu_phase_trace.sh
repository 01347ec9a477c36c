#!/usr/bin/env bash
# Where each stage's time goes inside its tasks: one traced step of each shape's default plan
# (bench --trace), whose summary splits every marked task into input (waits met .. input in
# shared memory), body (.. rows computed) and tail (.. signalled); two layers and the LM head
# shown. First the trace and instruction tests of this build.
#   scripts/gpu_phase_trace.sh [POS] [SHAPES...]     binaries from $BIN (default carry/bin)
set -u
BIN=${BIN:-carry/bin}
POS=${1:-1}
shift
SHAPES=${*:-llama-3.2-1b llama-3-8b smollm2-135m}
timeout --signal=KILL 180 "$BIN/tessera_cuda_tests" --gtest_filter='StepTrace.*:CudaInstr.*' 2>&1 | grep -E "FAIL|PASSED|Failure" | head -20
for s in $SHAPES; do
  "$BIN/tessera" compile --shape "$s" --context 16 --out /tmp/phase_plan.json > /dev/null || exit 1
  echo "== $s pos $POS"
  timeout --signal=KILL 240 "$BIN/tessera" bench --shape "$s" --plan /tmp/phase_plan.json --positions "$POS" \
    --steps 30 --trace "/tmp/phase_$s" 2>&1 | grep -E "median|^step|^stage|l3\.|l4\.|lm_head|stages:"
done

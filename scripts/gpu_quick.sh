#!/usr/bin/env bash
# One device call for a megakernel change: the GPU tests, then step time with the stage
# summary for the shapes and positions given, the default settings first, then each
# "VAR=VALUE" given after the positions (one bench per setting):
#   scripts/gpu_quick.sh [SHAPES] [POSITIONS] [VAR=VALUE ...]
# Binaries from $BIN (default carry/bin); logs under $OUT.
set -u
SHAPES=${1:-llama-3.2-1b}
POS=${2:-1}
shift 2 2>/dev/null || shift $#
BIN=${BIN:-carry/bin}
OUT=${OUT:-gpu_quick_out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader
if [ "${TESTS:-1}" = 1 ]; then
  timeout 400 "$BIN/tessera_cuda_tests" > "$OUT/tests.log" 2>&1
  echo "GPU tests: rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" "$OUT/tests.log" | head -8
fi
for s in ${SHAPES//,/ }; do
  for setting in default "$@"; do
    env_args=()
    [ "$setting" != default ] && env_args=("$setting")
    log="$OUT/${s}_${setting//[^A-Za-z0-9_=]/_}.log"
    timeout --signal=KILL 200 env "${env_args[@]}" "$BIN/tessera" bench --shape "$s" --backend megakernel \
      --positions "$POS" --steps "${STEPS:-100}" --warmup 10 --trace "$OUT/trace_${s}" > "$log" 2>&1
    echo "== $s $setting"; grep -E "^bench: .*median|rror" "$log" | head -4
    grep -E "^step |l1\.(qkv|attn|xa|ffn)|x\.2 " "$log" | head -8
  done
done

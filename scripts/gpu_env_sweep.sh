#!/usr/bin/env bash
# Megakernel step time against one launch-time setting read from the environment
# (TESSERA_POLL_NS, TESSERA_RING_BYTES, TESSERA_RING_SLOT_BYTES, TESSERA_DESC_SMEM, ...),
# one traced step per value for the stage summary:
#   scripts/gpu_env_sweep.sh VAR "VALUES" [SHAPES] [POSITIONS]
# Binaries from $BIN (default carry/bin); logs and records under $OUT.
set -u
VAR=${1:?usage: gpu_env_sweep.sh VAR "VALUES" [SHAPES] [POSITIONS]}
VALUES=${2:?values}
SHAPES=${3:-llama-3.2-1b}
POS=${4:-1}
BIN=${BIN:-carry/bin}
OUT=${OUT:-gpu_env_sweep_out}
mkdir -p "$OUT"
for s in ${SHAPES//,/ }; do
  for v in $VALUES; do
    log="$OUT/${s}_${VAR}_$v.log"
    timeout --signal=KILL 200 env "$VAR=$v" "$BIN/tessera" bench --shape "$s" --backend megakernel \
      --positions "$POS" --steps "${STEPS:-100}" --warmup 10 --json "$OUT/${s}_${VAR}_$v.json" \
      --trace "$OUT/trace_${s}_${VAR}_$v" > "$log" 2>&1
    echo "== $s $VAR=$v"; grep -E "^bench: .*median|rror" "$log" | head -3
    grep -E "^step |l1\.(qkv|attn|xa|ffn)|x\.2 |lm_head" "$log" | head -8
  done
done

#!/usr/bin/env bash
# Megakernel step time against the counter polling interval (TESSERA_POLL_NS) and the weight
# ring (TESSERA_RING_BYTES), one traced step each: scripts/gpu_poll.sh SHAPE "POLLS" [POS]
set -u
SHAPE=${1:-llama-3.2-1b}
POLLS=${2:-100 400 1000}
POS=${3:-1}
BIN=${BIN:-carry/bin}
OUT=${OUT:-gpu_poll_out}
mkdir -p "$OUT"
for p in $POLLS; do
  for ring in ${RINGS:-0}; do
    log="$OUT/poll_${SHAPE}_${p}_ring$ring.log"
    timeout --signal=KILL 200 env TESSERA_POLL_NS=$p TESSERA_RING_BYTES=$ring "$BIN/tessera" bench --shape "$SHAPE" \
      --backend megakernel --positions "$POS" --steps 100 --warmup 10 --trace "$OUT/trace_${SHAPE}_${p}_$ring" > "$log" 2>&1
    echo "== poll $p ns, ring $ring"; grep -E "^bench: .*median|rror" "$log" | head -3
    grep -E "^step |l1\.(qkv|attn|xa|ffn)|x\.2 " "$log" | head -7
  done
done

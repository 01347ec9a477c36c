#!/usr/bin/env bash
# Issue 6's measurements on a lent GPU, in parts that each fit one device call:
#   tessera  `tessera bench` of megakernel, ops and ops-graph on the llama-3.2-1b and
#            llama-3-8b shapes at positions 1, 512, 4096 (records: $OUT/tessera_<shape>.json),
#            plus one traced megakernel step per position ($OUT/trace_<shape>.posP.json and
#            the stage summary in the log);
#   peers    tools/peer_bench.py for hf-eager and torch-cudagraph on the same shapes;
#   compile  tools/peer_bench.py for torch-compile ($COMPILE_MODE, default max-autotune).
# Usage: scripts/gpu_bench.sh tessera|peers|compile [SHAPES] [POSITIONS]
# Binaries come from $BIN (default carry/bin, built on the build machine); logs and records
# go to $OUT. `tessera bench --report $OUT/*.json --md ... --svg ...` renders them anywhere.
set -u
PART=${1:?usage: gpu_bench.sh tessera|peers|compile [SHAPES] [POSITIONS]}
SHAPES=${2:-llama-3.2-1b,llama-3-8b}
POSITIONS=${3:-1,512,4096}
BIN=${BIN:-carry/bin}
OUT=${OUT:-gpu_bench_out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv > "$OUT/gpu_$PART.txt" 2>&1
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
failed=0
case "$PART" in
  tessera)
    for s in ${SHAPES//,/ }; do
      t0=$SECONDS
      timeout --signal=KILL 400 "$BIN/tessera" bench --shape "$s" --backend megakernel,ops,ops-graph \
        --positions "$POSITIONS" --steps 100 --warmup 10 --json "$OUT/tessera_$s.json" \
        --trace "$OUT/trace_$s" > "$OUT/bench_$s.log" 2>&1 || failed=$((failed + 1))
      echo "== $s ($((SECONDS - t0)) s)"; grep -E "^bench: .*(median|ceilings|compare)|measurement error" "$OUT/bench_$s.log"
    done ;;
  peers|compile)
    backends=hf-eager,torch-cudagraph
    [ "$PART" = compile ] && backends=torch-compile
    timeout --signal=KILL 560 python3 tools/peer_bench.py --shapes "$SHAPES" --positions "$POSITIONS" \
      --backends "$backends" --compile-mode "${COMPILE_MODE:-max-autotune}" --commit "$COMMIT" \
      --json "$OUT/peers_$PART.json" > "$OUT/peers_$PART.log" 2>&1 || failed=$((failed + 1))
    grep -E "^peer_bench|FAILED|measurement error|Error" "$OUT/peers_$PART.log" | head -40 ;;
  *) echo "gpu_bench: unknown part '$PART' (tessera, peers or compile)"; exit 2 ;;
esac
echo "gpu_bench $PART: $failed failed"
exit $failed

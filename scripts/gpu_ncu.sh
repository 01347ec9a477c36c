#!/usr/bin/env bash
# Nsight Compute on one megakernel launch (where the warps stall: memory, barriers, or no
# instruction to issue, i.e. instruction-cache misses): scripts/gpu_ncu.sh [SHAPE] [POS]
# Clocks are left as the driver has them (--clock-control none). Logs under $OUT.
set -u
SHAPE=${1:-llama-3.2-1b}
POS=${2:-1}
BIN=${BIN:-carry/bin}
OUT=${OUT:-gpu_ncu_out}
mkdir -p "$OUT"
timeout --signal=KILL 400 ncu --clock-control none -k regex:tessera_megakernel -s 3 -c 1 \
  --section WarpStateStats --section SchedulerStats --section LaunchStats \
  --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio" \
  --section MemoryWorkloadAnalysis \
  "$BIN/tessera" bench --shape "$SHAPE" --backend megakernel --positions "$POS" --steps 3 --warmup 1 \
  > "$OUT/ncu_${SHAPE}.txt" 2>&1
echo "ncu exit $?"
grep -iE "stalled|warp cycles|issued warp|eligible warps|Memory Throughput|Duration|Dynamic Shared|error" "$OUT/ncu_${SHAPE}.txt" | sort -k3 -n -r | head -40

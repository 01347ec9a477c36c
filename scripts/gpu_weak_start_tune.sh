#!/usr/bin/env bash
# Issue 7's weak-start tune, measured: `tessera tune --measure gpu` on the 1B at position 1
# from a plan deliberately weak in several dimensions at once (half the SMs, one join per
# op, unfused norms, 16-row gate/up tiles, no L2 hints, and the weight ring the H100 runs
# 1.5x slower), for MINUTES (default 9: a device call is capped at 10); every kept
# candidate is verified against the CPU reference on the GPU. Report, chart and dump
# (with logs) under $OUT.   scripts/gpu_weak_start_tune.sh [MINUTES] [SEED]
set -u
MIN=${1:-9}
SEED=${2:-1}
BIN=${BIN:-carry/bin}
OUT=${OUT:-gpu_weak_out}
mkdir -p "$OUT"
db=/tmp/weak_start.db
rm -f "$db"*
"$BIN/tessera" tune --shape llama-3.2-1b --measure gpu --position 1 --context 16 --budget-minutes "$MIN" \
  --seed "$SEED" --structural --db "$db" \
  --start-knob sms=66 --start-knob counter_granularity=op --start-knob fuse_norm=false \
  --start-knob gate_up_rows_per_task=16 --start-knob o_prefetch=false --start-knob gate_up_prefetch_kib=0 \
  --start-knob qkv_prefetch_kib=0 --start-knob down_prefetch_kib=0 --start-knob pipeline_stages=4 \
  > "$OUT/tune.log" 2>&1
echo "tune rc=$?"; tail -6 "$OUT/tune.log"
"$BIN/tessera" tune --report --db "$db" --md "$OUT/report.md" --svg "$OUT/tune_h100_weak_start_eleventh.svg"
python3 scripts/tune_db_dump.py "$db" "$OUT/tune_h100_weak_start_eleventh.json"

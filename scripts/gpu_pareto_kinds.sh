#!/usr/bin/env bash
# Issue 7's Pareto policy on measured costs, with each instruction kind's own time as the
# fronts' time axis (policy pareto) or the whole step's (pareto-step), from the weak start
# of gpu_weak_start_tune.sh over a space small enough to reach composition in one device
# call: the 1B at position 1, every candidate verified against the CPU reference on the
# GPU. Report, chart and dump (with logs and kind times) under $OUT.
#   scripts/gpu_pareto_kinds.sh [POLICY] [MINUTES] [TAG]
set -u
POLICY=${1:-pareto}
MIN=${2:-7}
TAG=${3:-sixteenth}
BIN=${BIN:-carry/bin}
OUT=${OUT:-gpu_pareto_out}
mkdir -p "$OUT"
db=/tmp/pareto_kinds_$POLICY.db
rm -f "$db"*
"$BIN/tessera" tune --shape llama-3.2-1b --measure gpu --position 1 --context 16 --budget-minutes "$MIN" \
  --policy "$POLICY" --db "$db" \
  --space gate_up_rows_per_task,o_rows_per_task,down_rows_per_task,kv_splits,fuse_norm,counter_granularity,sms \
  --start-knob sms=66 --start-knob counter_granularity=op --start-knob fuse_norm=false \
  --start-knob gate_up_rows_per_task=16 --start-knob o_prefetch=false --start-knob gate_up_prefetch_kib=0 \
  --start-knob qkv_prefetch_kib=0 --start-knob down_prefetch_kib=0 --start-knob pipeline_stages=4 \
  > "$OUT/tune_$POLICY.log" 2>&1
echo "tune $POLICY rc=$?"; tail -6 "$OUT/tune_$POLICY.log"
name=tune_h100_${POLICY//-/_}_weak_$TAG
"$BIN/tessera" tune --report --db "$db" --md "$OUT/report_$POLICY.md" --svg "$OUT/$name.svg"
python3 scripts/tune_db_dump.py "$db" "$OUT/$name.json"

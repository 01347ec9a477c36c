#!/usr/bin/env bash
# Measured tunes for the cost model's calibration across shapes and positions (issue 7):
# each argument SHAPE:POSITION:CONTEXT:MINUTES[:structural] runs `tessera tune --measure gpu`
# from the lowering's default plan, then dumps its calibration rows and candidates to
# $OUT/tune_SHAPE_pPOSITION_cCONTEXT.json (the databases are too large to bring back).
#   scripts/gpu_calibrate.sh llama-3.2-1b:1:16:3:structural qwen2.5-0.5b:1:16:2
# Binaries from $BIN (default carry/bin); logs and dumps under $OUT.
set -u
BIN=${BIN:-carry/bin}
OUT=${OUT:-gpu_calibrate_out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader
for spec in "$@"; do
  IFS=: read -r shape pos ctx minutes structural <<< "$spec"
  name="tune_${shape}_p${pos}_c${ctx}"
  db="/tmp/$name.db"
  rm -f "$db"*
  extra=()
  [ "${structural:-}" = structural ] && extra=(--structural)
  start=$(date +%s)
  timeout --signal=KILL $(( minutes * 60 + 120 )) "$BIN/tessera" tune --shape "$shape" --measure gpu \
    --position "$pos" --context "$ctx" --budget-minutes "$minutes" --db "$db" --seed "${SEED:-7}" \
    "${extra[@]}" > "$OUT/$name.log" 2>&1
  echo "== $spec rc=$? $(( $(date +%s) - start )) s"
  tail -5 "$OUT/$name.log"
  python3 scripts/tune_db_dump.py "$db" "$OUT/$name.json"
done

#!/usr/bin/env bash
# The agents writing instruction code on the GPU, without a model: `tessera tune --variant
# matvec_bf16 --agents llm` against the scripted endpoint (scripts/scripted_llm_server.py)
# replaying a plan reply, a code reply with a printf left in, and the debug agent's fix;
# then the GPU tests of the variant path (run gate, timed check, the same loop in-process).
# Logs, the run's report and the database dump under $OUT.
#   BIN=carry/bin scripts/gpu_variant_tune.sh
set -u
BIN=${BIN:-carry/bin}
OUT=${OUT:-gpu_variant_out}
mkdir -p "$OUT"
export TESSERA_BINARY=$PWD/$BIN/tessera TESSERA_TEST_SOURCE_DIR=$PWD TESSERA_PROMPTS_DIR=$PWD/prompts \
  TESSERA_VARIANTS_DIR=$PWD/variants
D=tests/data/agents
python3 scripts/scripted_llm_server.py $D/openai_variant_plan.json $D/openai_variant_code_broken.json \
  $D/openai_variant_debug_fix.json > "$OUT/port.txt" 2> "$OUT/server.log" &
server=$!
for _ in $(seq 50); do [ -s "$OUT/port.txt" ] && break; sleep 0.1; done
port=$(head -1 "$OUT/port.txt")
db=/tmp/variant_tune/variant.db
rm -rf /tmp/variant_tune
start=$(date +%s)
"$BIN/tessera" tune --variant matvec_bf16 --agents llm --llm-base-url "http://127.0.0.1:$port/v1" \
  --llm-model scripted-model --budget-candidates 3 --db "$db" > "$OUT/tune.out" 2> "$OUT/tune.err"
echo "tune --variant rc=$? $(( $(date +%s) - start )) s"
kill $server 2>/dev/null
cat "$OUT/tune.err" "$OUT/tune.out"
cp /tmp/variant_tune/best_variant.cu "$OUT/" 2>/dev/null
python3 scripts/tune_db_dump.py "$db" "$OUT/variant_tune_db.json" && python3 - "$OUT/variant_tune_db.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for c in d.get("candidates", []):
    print("candidate", c["id"], c["operator"], c["status"], c.get("cost_kind"), c.get("cost_s"))
    print("   " + c.get("log", "").replace("\n", "\n   "))
PY
timeout 300 "$BIN/tessera_cuda_tests" --gtest_filter='VariantTuneGpu.*:VariantRunGate*' --gtest_color=no \
  > "$OUT/variant_tests.log" 2>&1
echo "variant GPU tests rc=$?"
grep -E "^\[ +(OK|FAILED|SKIPPED|PASSED) " "$OUT/variant_tests.log" | tail -20

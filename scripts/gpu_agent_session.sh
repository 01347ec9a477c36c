#!/usr/bin/env bash
# An outside agent's session measured on the GPU (`tessera agent --measure gpu`): a tuning
# database holding the default plan of SHAPE (one predicted candidate), then, through the
# JSON-lines interface, two proposals evaluated on the GPU (verified against the CPU
# reference, timed), the leaderboard and a log. Transcript and stderr under $OUT.
#   scripts/gpu_agent_session.sh [SHAPE] [POSITION]
set -u
SHAPE=${1:-llama-3.2-1b}
POS=${2:-1}
BIN=${BIN:-carry/bin}
OUT=${OUT:-gpu_agent_out}
mkdir -p "$OUT"
db=/tmp/agent_session.db
rm -f "$db"*
"$BIN/tessera" tune --shape "$SHAPE" --position "$POS" --context 16 --budget-candidates 1 --db "$db" \
  > "$OUT/tune.log" 2>&1 || { echo "tune failed"; cat "$OUT/tune.log"; exit 1; }
cat > "$OUT/requests.jsonl" <<'REQ'
{"id":1,"op":"propose","parent":1,"knobs":{"gate_up_prefetch_kib":64},"note":"more of each gate/up tile from L2 before the wait"}
{"id":2,"op":"evaluate","candidate":2}
{"id":3,"op":"propose","parent":1,"knobs":{"kv_splits":2},"note":"two KV splits"}
{"id":4,"op":"evaluate","candidate":3}
{"id":5,"op":"evaluate","candidate":1}
{"id":6,"op":"leaderboard","k":5}
REQ
start=$(date +%s)
"$BIN/tessera" agent --db "$db" --measure gpu < "$OUT/requests.jsonl" > "$OUT/responses.jsonl" 2> "$OUT/agent.err"
echo "agent rc=$? $(( $(date +%s) - start )) s"
cat "$OUT/agent.err"
python3 - "$OUT/responses.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line); res = r.get("result", {})
    if not r.get("ok"): print(r.get("id"), "error", r.get("error")); continue
    if "entries" in res:
        for e in res["entries"]: print("  rank", e["rank"], "candidate", e["candidate"], e.get("cost_kind"), "%.4f ms" % e.get("cost_ms", 0))
    else:
        print(r.get("id"), {k: res.get(k) for k in ("candidate", "status", "cost_kind", "cost_ms", "spread", "already_evaluated")})
PY
python3 scripts/tune_db_dump.py "$db" "$OUT/agent_session_db.json"

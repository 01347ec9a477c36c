#!/usr/bin/env bash
# Attention folded into the o projection (knob fold_attention, Op::AttnMatvec) on a lent GPU:
#   1. the instruction against its CPU twin, under memcheck and racecheck too;
#   2. `tessera check --backend cuda` of folded plans against the CPU reference for every
#      built-in shape and the real stories260K checkpoint, every position of the context;
#   3. `bench --compare` folded / default at short positions (scripts/gpu_compare_plans.sh).
# Binaries from $BIN (default carry/bin), checkpoints from $MODELS; logs under $OUT.
# SHAPES (default the 1B and 8B) and POSITIONS (default 1,15) pick the comparisons.
set -u
BIN=${BIN:-carry/bin}
MODELS=${MODELS:-carry/shared/models}
OUT=${OUT:-gpu_fold_out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv | tee "$OUT/gpu.txt"
failed=0
step() {  # step NAME TIMEOUT CMD...
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  timeout --signal=KILL "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  [ $rc -ne 0 ] && failed=$((failed + 1))
  printf '%-26s rc=%-3s %4ss  %s\n' "$name" "$rc" "$((SECONDS - t0))" \
    "$(grep -m1 -E 'positions:|PASSED|FAILED|ERROR SUMMARY' "$OUT/$name.log")"
}
export TESSERA_WATCHDOG_SECONDS=120
step instr 120 "$BIN/tessera_cuda_tests" --gtest_filter='CudaInstr.AttnMatvec' --gtest_color=no
if command -v compute-sanitizer > /dev/null; then
  step instr_memcheck 150 compute-sanitizer --tool memcheck --error-exitcode 1 "$BIN/tessera_cuda_tests" \
    --gtest_filter='CudaInstr.AttnMatvec' --gtest_color=no
  step instr_racecheck 200 compute-sanitizer --tool racecheck --error-exitcode 1 "$BIN/tessera_cuda_tests" \
    --gtest_filter='CudaInstr.AttnMatvec' --gtest_color=no
fi
unset TESSERA_WATCHDOG_SECONDS
# Folded plans at the largest context each shape folds at; the prompt's 4 tokens and
# context - 4 greedy steps visit every position. Plans go to /tmp (fewer files come back).
fold_check() {  # NAME CONTEXT MODEL-ARGS...   (tokens for check in $TOKENS)
  local name=$1 ctx=$2; shift 2
  local plan=/tmp/${name}_fold.json
  "$BIN/tessera" compile "$@" --context "$ctx" --knob fold_attention=on --out "$plan" > /dev/null || {
    echo "compile $name failed"; failed=$((failed + 1)); return; }
  grep -c '"attn_matvec"' "$plan" | sed "s/^/$name attn_matvec tasks: /"
  step "check_$name" 240 "$BIN/tessera" check --backend cuda --plan "$plan" --context "$ctx" \
    --steps $((ctx - 4)) --bf16-weights --threads 16 --tokens "${TOKENS:-1,2,3,4}" "$@"
}
TOKENS=1,403,407,261 fold_check stories260k-real 32 --model "$MODELS/stories260K.bin"
for s in tiny stories260k smollm2-135m qwen2.5-0.5b llama-3.2-1b; do fold_check "$s" 32 --shape "$s"; done
fold_check llama-3-8b 16 --shape llama-3-8b
# Folded (on) against the default (auto: folded where the o weights are small), then
# unfolded (off) against the default; plans and logs in /tmp (fewer files come back).
OUT=/tmp/fold_on bash scripts/gpu_compare_plans.sh "${SHAPES:-llama-3.2-1b,llama-3-8b}" "${POSITIONS:-1,15}" \
  fold_attention=on | grep -E "^==|compare megakernel"
OUT=/tmp/fold_off bash scripts/gpu_compare_plans.sh "${SMALL:-smollm2-135m,qwen2.5-0.5b}" "${POSITIONS:-1,15}" \
  fold_attention=off | grep -E "^==|compare megakernel"
echo "gpu_fold: $failed failed"
exit $failed

#!/usr/bin/env bash
# The CUDA backend's checks on a lent GPU, in one call (about 8 minutes at most):
#   1. tessera_cuda_tests (every instruction vs its CPU twin, engines, validator gate, watchdog)
#   2. compute-sanitizer memcheck and 3. racecheck on the tiny and stories260k end-to-end tests
#      (and on the ops baselines' tiny tests)
#   4. the disassembly checks (scripts/check_sass.sh) where cuobjdump is present
# Expects a build directory made on the build machine and carried with the call (default
# ./build; binaries link cudart statically). Real checkpoints: $TESSERA_SHARED_DIR, else
# ./shared if carried. Logs go to $OUT (default ./gpu_check_out); each step is logged, a
# failing step does not stop the others, and the exit status is the number of failed steps.
set -u
BUILD=${BUILD:-build}
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
if [ -z "${TESSERA_SHARED_DIR:-}" ] && [ -d shared/models ]; then export TESSERA_SHARED_DIR=$PWD/shared; fi
T=$BUILD/tessera_cuda_tests
# The tests that run the CLI find it at its build-machine path unless told where it moved.
if [ -z "${TESSERA_BINARY:-}" ] && [ -x "$BUILD/tessera" ]; then export TESSERA_BINARY=$(cd "$BUILD" && pwd)/tessera; fi
declare -a SUMMARY
failed=0

step() {  # step NAME LOG TIMEOUT CMD...
  local name=$1 log=$2 limit=$3; shift 3
  echo "=== $name: $*" | tee -a "$OUT/gpu_check.log"
  local t0=$SECONDS
  timeout --signal=KILL "$limit" "$@" > "$OUT/$log" 2>&1
  local rc=$? dt=$((SECONDS - t0))
  local status=PASS
  [ $rc -ne 0 ] && status="FAIL(rc=$rc)" && failed=$((failed + 1))
  [ $rc -eq 137 ] && status="TIMEOUT(${limit}s)"
  SUMMARY+=("$(printf '%-28s %-14s %4ss  %s' "$name" "$status" "$dt" "$OUT/$log")")
  tail -n 25 "$OUT/$log" | sed 's/^/    /' >> "$OUT/gpu_check.log"
}

{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  nvidia-smi -L 2>&1
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  echo "TESSERA_SHARED_DIR=${TESSERA_SHARED_DIR:-<unset>}"
} > "$OUT/env.log"
cat "$OUT/env.log"

if [ ! -x "$T" ]; then
  echo "gpu_check: $T not found or not executable (build tessera_cuda_tests here and carry $BUILD)"
  exit 99
fi

E2E='CudaEngine.MatchesCpuOnRandomTiny:CudaEngine.MatchesCpuOnRandomStories260kShape:CudaEngine.Stories260kTellsTheCpuStory'
step "cuda_tests" cuda_tests.log 240 "$T" --gtest_color=no
# Sanitizers slow kernels down by orders of magnitude: give waits a generous bound.
export TESSERA_WATCHDOG_SECONDS=120
if command -v compute-sanitizer >/dev/null; then
  step "memcheck (e2e)" memcheck.log 150 compute-sanitizer --tool memcheck --error-exitcode 1 "$T" --gtest_filter="$E2E" --gtest_color=no
  # 300 s: the default plans now split q/k/v heads (more tasks per step to instrument).
  step "racecheck (e2e)" racecheck.log 300 compute-sanitizer --tool racecheck --error-exitcode 1 "$T" --gtest_filter="$E2E" --gtest_color=no
  step "memcheck (instructions)" memcheck_instr.log 150 compute-sanitizer --tool memcheck --error-exitcode 1 "$T" --gtest_filter='CudaInstr.*' --gtest_color=no
  OPS='OpsEngine.MatchesCpuOnRandomTiny:OpsEngine.MatchesCpuOnQwen3StyleQkNorm:OpsEngine.TimedStepsInFlightMatchForward'
  step "memcheck (ops)" memcheck_ops.log 120 compute-sanitizer --tool memcheck --error-exitcode 1 "$T" --gtest_filter="$OPS" --gtest_color=no
  # racecheck instruments every shared-memory access of every kernel: the three ops tests
  # took over 120 s on an H100 (2026-11-21), so racecheck runs the tiny one.
  step "racecheck (ops)" racecheck_ops.log 150 compute-sanitizer --tool racecheck --error-exitcode 1 "$T" --gtest_filter='OpsEngine.MatchesCpuOnRandomTiny' --gtest_color=no
else
  SUMMARY+=("compute-sanitizer            SKIPPED (not on PATH)")
fi
unset TESSERA_WATCHDOG_SECONDS
if [ -x scripts/check_sass.sh ]; then step "sass (128-bit loads, no LDL/STL)" sass.log 60 scripts/check_sass.sh "$BUILD"; fi

echo
echo "---- gpu_check summary ($(head -1 "$OUT/env.log"))"
grep -E "^\[ (instr|e2e|watchdog) " "$OUT/cuda_tests.log" 2>/dev/null | tail -40
grep -E "^\[  (PASSED|FAILED) |^\[  SKIPPED \]" "$OUT/cuda_tests.log" 2>/dev/null | head -20
grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$OUT"/memcheck*.log "$OUT"/racecheck.log 2>/dev/null
for s in "${SUMMARY[@]}"; do echo "$s"; done
echo "failed steps: $failed"
exit $failed

#!/usr/bin/env bash
# The weight ring as the plan asks for it (knob pipeline_stages): the CUDA engine tests
# (PlanAsksForTheWeightRing checks it is allocated and bit-identical to plain loads), then
# ring plans of 2, 4 and 8 stages against the default (no ring), interleaved. Logs under $OUT.
export TESSERA_SHARED_DIR=$PWD/carry/shared
export TESSERA_BINARY=$PWD/carry/bin/tessera
timeout 300 carry/bin/tessera_cuda_tests --gtest_filter='CudaEngine.*' > $OUT/cuda_engine_tests.log 2>&1; echo "CudaEngine tests rc=$?"
grep -E "^\[  (PASSED|FAILED)|FAILED  \]|OK \] CudaEngine.PlanAsks" $OUT/cuda_engine_tests.log | head
STEPS=60 OUT=$OUT/cmp4 bash scripts/gpu_compare_plans.sh llama-3.2-1b,llama-3-8b 1 pipeline_stages=4
STEPS=60 OUT=$OUT/cmp8 bash scripts/gpu_compare_plans.sh llama-3.2-1b 1 pipeline_stages=8
STEPS=60 OUT=$OUT/cmp2 bash scripts/gpu_compare_plans.sh llama-3.2-1b 1 pipeline_stages=2

#!/usr/bin/env bash
# Copies a GPU build's binaries into carry/bin for the device tool (`carry: ["carry/bin"]`):
# tessera and tessera_cuda_tests stripped, and the megakernel's object beside them, which
# scripts/check_sass.sh reads. All three from the same build, every time: a stale object
# once let the SASS check pass on code that was no longer the code under test (thirteenth
# session, docs/VERIFICATION.md).
#   scripts/carry_build.sh [BUILD_DIR]      (default build-gpu)
set -eu
B=${1:-build-gpu}
mkdir -p carry/bin
obj=$(find "$B" -name megakernel.cu.o | head -1)
[ -n "$obj" ] || { echo "carry_build: no megakernel.cu.o under $B"; exit 1; }
for f in "$B/tessera" "$B/tessera_cuda_tests" "$obj"; do
  [ -f "$f" ] || { echo "carry_build: $f missing"; exit 1; }
done
if [ "$obj" -nt "$B/tessera" ]; then echo "carry_build: $obj is newer than $B/tessera (relink first)"; exit 1; fi
cp "$B/tessera" "$B/tessera_cuda_tests" "$obj" carry/bin/
strip carry/bin/tessera carry/bin/tessera_cuda_tests
ls -la carry/bin

#!/usr/bin/env bash
# Quick start, part 2: install, build, and run the whole test suite: the GoogleTest suite
# (unit, format, tokenizer, engine and CLI tests; tests needing ../shared or the SmolLM2
# GGUF skip with a message when those are absent) and a short libFuzzer run per parser.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
bash scripts/fetch_smollm2.sh >/dev/null || echo "test: SmolLM2 unavailable; its tests will skip" >&2
(cd build && ctest --output-on-failure -j"$(nproc)")
if [[ "${TESSERA_FUZZ:-1}" == 1 ]]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DTESSERA_FUZZ=ON -DTESSERA_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_FUZZ_SECONDS="${TESSERA_FUZZ_SECONDS:-20}" >/dev/null
  cmake --build build-fuzz -j"$(nproc)"
  (cd build-fuzz && ctest --output-on-failure)
fi
echo "test: all passed"

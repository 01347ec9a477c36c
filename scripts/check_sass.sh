#!/usr/bin/env bash
# Reads facts off the megakernel's machine code, no GPU needed: for each architecture in
# the object, registers / stack / local memory (cuobjdump -res-usage), and for sm_90a that
# the weight loads are 128-bit (LDG.E.128) and there is no local-memory traffic (LDL/STL).
# Usage: scripts/check_sass.sh [build-dir]   (exit 0 when every check passes)
set -u
BUILD=${1:-build}
OBJ=$(find "$BUILD" -name 'megakernel.cu.o' | head -1)
if [ -z "$OBJ" ]; then echo "check_sass: no megakernel.cu.o under $BUILD (build target tessera_cuda first)"; exit 2; fi
CUOBJDUMP=${CUOBJDUMP:-}
for c in "$CUOBJDUMP" "$(command -v cuobjdump 2>/dev/null)" /usr/local/cuda/bin/cuobjdump \
         $(python3 -c 'import triton,os;print(os.path.join(os.path.dirname(triton.__file__),"backends/nvidia/bin/cuobjdump"))' 2>/dev/null); do
  if [ -n "$c" ] && [ -x "$c" ]; then CUOBJDUMP=$c; break; fi
done
if [ -z "$CUOBJDUMP" ] || [ ! -x "$CUOBJDUMP" ]; then echo "check_sass: no cuobjdump found (set CUOBJDUMP)"; exit 2; fi
echo "check_sass: $OBJ with $CUOBJDUMP"
fail=0
echo "--- resource usage per architecture"
"$CUOBJDUMP" -res-usage "$OBJ" 2>&1 | grep -E "arch|REG" | sed 's/^/  /'
if "$CUOBJDUMP" -res-usage "$OBJ" 2>&1 | grep -E "STACK:[1-9]|LOCAL:[1-9]" >/dev/null; then
  echo "FAIL: a kernel has a stack frame or local memory"; fail=1
else
  echo "ok: STACK:0 LOCAL:0 on every architecture"
fi
SASS=$(mktemp)
"$CUOBJDUMP" -sass -arch sm_90a "$OBJ" > "$SASS" 2>&1
n128=$(grep -c "LDG.E.128" "$SASS")
ncon=$(grep -c "LDG.E.128.CONSTANT" "$SASS")
nlocal=$(grep -cE "\b(LDL|STL)\b" "$SASS")
echo "--- sm_90a: $(grep -c '^ */\*[0-9a-f]*\*/' "$SASS") instructions, $n128 LDG.E.128 ($ncon through the read-only path), $nlocal LDL/STL"
[ "$n128" -gt 0 ] && echo "ok: 128-bit global loads present" || { echo "FAIL: no LDG.E.128 in sm_90a code"; fail=1; }
if [ "$nlocal" -eq 0 ]; then
  echo "ok: no local-memory loads or stores"
else
  echo "FAIL: local memory used"; fail=1
  # Where: the source line each LDL/STL belongs to (the build keeps -lineinfo), from the
  # innermost inlined location nvdisasm prints above it, counted per line.
  NVDISASM=$(dirname "$CUOBJDUMP")/nvdisasm
  [ -x "$NVDISASM" ] || NVDISASM=$(command -v nvdisasm 2>/dev/null || true)
  DIR=$(mktemp -d)
  ABS_OBJ=$(realpath "$OBJ")
  if [ -n "$NVDISASM" ] && (cd "$DIR" && "$CUOBJDUMP" -xelf all "$ABS_OBJ" >/dev/null 2>&1); then
    CUBIN=$(ls "$DIR"/*sm_90a*.cubin 2>/dev/null | head -1)
    if [ -n "$CUBIN" ]; then
      echo "--- local-memory accesses by source line (count, innermost location):"
      "$NVDISASM" -gi -c "$CUBIN" 2>/dev/null | awk '
        /\/\/## File/ { loc = $0; sub(/.*\/\/## File "/, "", loc); sub(/", line /, ":", loc); sub(/ inlined at.*/, "", loc) }
        /[[:space:]](LDL|STL)(\.[A-Z0-9]+)*[[:space:]]/ { n[loc]++ }
        END { for (l in n) printf "  %4d  %s\n", n[l], l }' | sort -rn | head -15
    fi
  else
    grep -nE "\b(LDL|STL)\b" "$SASS" | head
  fi
  rm -rf "$DIR"
fi
rm -f "$SASS"
exit $fail

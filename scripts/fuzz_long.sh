#!/usr/bin/env bash
# Long libFuzzer campaign: every parser's fuzz target for SECONDS (default 600) each, one
# after another, starting from the committed seed corpus. Needs the clang fuzz build
# (scripts/test.sh makes it in build-fuzz/). Logs and the grown corpora go to OUT
# (default build-fuzz/long/). Exit status 1 if any target crashed.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
out="${OUT_DIR:-build-fuzz/long}"
mkdir -p "$out"
status=0
for bin in build-fuzz/*_fuzz; do
  name=$(basename "$bin")
  mkdir -p "$out/corpus_$name"
  echo "fuzz_long: $name for ${seconds}s" >&2
  if "$bin" -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$out/${name}-" "$out/corpus_$name" "fuzz/corpus/$name" >"$out/$name.log" 2>&1; then
    echo "fuzz_long: $name: no crash ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$out/$name.log" | grep -o '[0-9]*$') runs)" >&2
  else
    echo "fuzz_long: $name: FAILED (see $out/$name.log)" >&2
    status=1
  fi
done
exit $status

#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] — build the libFuzzer targets with clang (ASan+UBSan) and run each
# for SECONDS (default 30), seeded with the examples, golden files and bad-input corpus.
# A crash, leak, hang (>10 s per input) or sanitizer report fails the run; the reproducer is
# left in build-fuzz/ (crash-*, leak-*, timeout-*).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
if [ ! -d build-fuzz ]; then
  CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C build-fuzz test/fuzz/fuzz_jsc test/fuzz/fuzz_ir >/dev/null
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for t in jsc ir; do
  corpus=build-fuzz/corpus-$t
  mkdir -p "$corpus"
  if [ $t = jsc ]; then seeds=(examples test/bad/jsc); else seeds=(test/golden test/bad/ir); fi
  for s in "${seeds[@]}"; do
    for f in "$s"/*; do [ -f "$f" ] && case $f in *.$t|*.ir) cp "$f" "$corpus/";; esac; done
  done
  echo "fuzzing the $t parser for ${secs}s"
  (cd build-fuzz && ./test/fuzz/fuzz_$t -max_total_time="$secs" -timeout=10 -max_len=16384 \
     -print_final_stats=1 "corpus-$t" 2>&1 | grep -E 'stat::number_of_executed_runs|stat::new_units_added|ERROR|SUMMARY|Done' || true)
  (cd build-fuzz && ls crash-* leak-* timeout-* oom-* 2>/dev/null) && { echo "fuzz_$t found a failing input"; exit 1; }
done
echo "fuzz: no crashes"

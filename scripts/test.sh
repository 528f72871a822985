#!/usr/bin/env bash
# scripts/test.sh — set up and run the whole test suite, as CI does:
#   1. install the Debian packages (scripts/deps.sh),
#   2. build with warnings as errors and run every test (CMocka units, golden dumps and round
#      trips, the bad-input corpus, CLI checks),
#   3. the same under AddressSanitizer + UndefinedBehaviorSanitizer,
#   4. fuzz the .jsc, IR and config parsers and the file loaders briefly (scripts/fuzz.sh:
#      FUZZ_SECONDS per parser, default 30; 0 skips).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

total_ok=0; total_fail=0
suite() { # build-dir meson-setup-args...
  local dir=$1; shift
  if [ -d "$dir" ]; then
    meson configure "$dir" -Dwerror=true "$@" >/dev/null
  else
    meson setup "$dir" -Dwerror=true "$@" >/dev/null
  fi
  ninja -C "$dir" >/dev/null
  local rc=0
  meson test -C "$dir" --print-errorlogs 2>&1 | tee "$dir/test-summary.txt" || rc=$?
  local ok fail
  ok=$(awk '/^Ok:/ {print $2}' "$dir/test-summary.txt")
  fail=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {s += $NF} END {print s + 0}' "$dir/test-summary.txt")
  total_ok=$((total_ok + ${ok:-0})); total_fail=$((total_fail + fail))
  return $rc
}

echo "== build and test (-Werror)"
suite build
echo "== build and test under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  suite build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
if [ "${FUZZ_SECONDS:-30}" != 0 ]; then
  echo "== fuzz"
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
fi
echo "tests: $total_ok passed, $total_fail failed"
[ "$total_fail" -eq 0 ]

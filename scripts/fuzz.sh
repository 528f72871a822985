#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS [TARGET...]] — build the libFuzzer targets with clang (ASan+UBSan)
# and run each in turn, seeded with the examples, golden files, bad-input corpus, test data and
# test/fuzz/corpus/fuzz_<target>/.
#
# SECONDS (default 30) is the time of each parser target; the others take a share of it, so
# the default run stays under two minutes:
#   jsc, ir      SECONDS each   the .jsc front end, the IR text parser
#   ckpt, data   1/2 each       safetensors checkpoints; CSV / ARFF / HDF5 data files
#   lzf          1/6            the LZF decompressor (a small function: it saturates fast)
#   config       1/2            the config front end (a TOML subset; a small grammar)
#   sweep        1/2            a sweep's sweep.json and journal (JSON documents and lines)
#   hw           1/2            what jscc emit reads back from simulators and yosys
# (30 gives 30 + 30 + 15 + 15 + 5 + 15 + 15 + 15 = 140 s of fuzzing, about 150 s in all.)  TARGETs (jsc
# ir ckpt data lzf config sweep hw search), or $FUZZ_TARGETS when none are given, pick a subset; $FUZZ_BUILD
# names the build directory (default build-fuzz).
# A crash, leak, hang (>10 s per input) or sanitizer report fails the run, after every target
# has run; reproducers are left in $FUZZ_BUILD/artifacts/fuzz_<target>/ (crash-*, leak-*,
# timeout-*, oom-*) and the full log in $FUZZ_BUILD/fuzz_<target>.log.  Reproduce one with
#   $FUZZ_BUILD/test/fuzz/fuzz_<target> FILE      (FUZZ_VERBOSE=1 prints ckpt/data diagnostics)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
shift || true
targets=("$@")
# shellcheck disable=SC2206 # FUZZ_TARGETS is a space-separated list
[ ${#targets[@]} -gt 0 ] || targets=(${FUZZ_TARGETS:-jsc ir ckpt data lzf config sweep hw search})
build=${FUZZ_BUILD:-build-fuzz}
for t in "${targets[@]}"; do
  case $t in jsc | ir | ckpt | data | lzf | config | sweep | hw | search) ;; *) echo "fuzz.sh: unknown target '$t' (jsc ir ckpt data lzf config sweep hw search)" >&2; exit 2 ;; esac
done
if [ ! -d "$build" ]; then
  CC=clang meson setup "$build" -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C "$build" "${targets[@]/#/test/fuzz/fuzz_}" >/dev/null
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# seed_dirs TARGET: DIR:SUFFIX pairs whose files seed it (besides test/fuzz/corpus/fuzz_TARGET).
seed_dirs() {
  case $1 in
  jsc) echo "examples:jsc test/bad/jsc:jsc" ;;
  ir) echo "test/golden:ir test/bad/ir:ir" ;;
  ckpt) echo "test/data/ckpt:safetensors" ;;
  data) echo "test/data/jsc:csv test/data/jsc:arff test/data/jsc:h5" ;;
  lzf) echo "" ;;
  config) echo "examples/configs:toml test/bad/config:toml test/data/mase:toml test/data/mase/bad:toml test/data/mase/search:toml" ;;
  sweep) echo "test/data/sweep:json test/data/sweep:jsonl" ;;
  hw) echo "test/data/hw:txt test/data/hw:stat test/data/hw:log test/data/emit/tiny:json test/data/emit/wide_est:json" ;;
  search) echo "test/data/search:toml test/data/search:jsonl examples/configs:toml" ;;
  esac
}

failed=()
for t in "${targets[@]}"; do
  case $t in
  jsc | ir) s=$secs max_len=16384 extra=() ;;
  ckpt | config | sweep | hw | search) s=$(((secs + 1) / 2)) max_len=16384 extra=() ;;
  # the HDF5 seed is 21 KB.  A corrupt chunk size makes libhdf5 malloc up to 4 GiB before it
  # finds the address out of range and fails cleanly (test/fuzz/crashes/README.md): allowed
  # here, as the allocation is never touched.
  data) s=$(((secs + 1) / 2)) max_len=32768 extra=(-malloc_limit_mb=8192) ;;
  lzf) s=$(((secs + 5) / 6)) max_len=4096 extra=() ;;
  esac
  corpus=$build/corpus-$t
  artifacts=$build/artifacts/fuzz_$t
  mkdir -p "$corpus" "$artifacts"
  for sd in $(seed_dirs "$t"); do
    dir=${sd%%:*} suffix=${sd#*:}
    for f in "$dir"/*."$suffix"; do [ -f "$f" ] && cp "$f" "$corpus/"; done
  done
  if [ -d "test/fuzz/corpus/fuzz_$t" ]; then
    for f in "test/fuzz/corpus/fuzz_$t"/*; do [ -f "$f" ] && cp "$f" "$corpus/"; done
  fi
  echo "fuzzing $t for ${s}s"
  rc=0
  (cd "$build" && "./test/fuzz/fuzz_$t" -max_total_time="$s" -timeout=10 -max_len="$max_len" "${extra[@]}" \
     -print_final_stats=1 -artifact_prefix="artifacts/fuzz_$t/" "corpus-$t") >"$build/fuzz_$t.log" 2>&1 || rc=$?
  grep -E '^fuzz_[a-z]+: |stat::number_of_executed_(runs|units)|stat::average_exec_per_sec|stat::new_units_added|ERROR|SUMMARY|Done' "$build/fuzz_$t.log" || true
  if [ $rc -ne 0 ] || [ -n "$(ls -A "$artifacts")" ]; then
    echo "fuzz_$t found a failing input (exit $rc): $(ls "$artifacts" | sed "s|^|$artifacts/|" | tr '\n' ' ')"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failing inputs from ${failed[*]} (logs: $build/fuzz_<target>.log)"
  exit 1
fi
echo "fuzz: no crashes"

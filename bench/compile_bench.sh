#!/usr/bin/env bash
# bench/compile_bench.sh [--reps N] [--base COMMIT] — JIT compile time against a baseline jscc.
#
# For three wide MLPs (16-1024-5, 16-4096-5, 16-65536-5: Linear, ReLU, Linear) and
# examples/jsc_big.jsc: `jscc train MODEL --max-epochs 1 --synth-n 2000` with a fresh, empty
# kernel cache (JSCC_CACHE_DIR, a new temporary directory per run), once with this tree and
# once with the baseline commit (default 1b7fab1, the last before compile time stopped
# growing with layer widths), alternating, N times each (default 3).  The figure is the
# engine line's "compiled in N ms": rendering and compiling the training and the evaluation
# step (wall time); and, as the compile's CPU time, user + system of `jscc train MODEL
# --dump-llvm` (both steps compiled, no data, no training).  Reports the minimum of each side (the machine is shared: the least disturbed run)
# and the ratio baseline / this tree; a run that does not finish within the time limit
# (60 s, BENCH_TIMEOUT) reports "> 60000".  Both are release builds of tools/jscc only:
# this tree in build-bench/, the baseline from `git archive COMMIT` in build-bench-base/.
# Prints a markdown table and writes it to bench/results/compile_DATE.md.
# Targets: 16-1024-5 <= 300 ms, 16-4096-5 <= 500 ms, jsc_big <= 150 ms; 16-65536-5 compiles
# and trains.  A missed target prints MISSED; only a failed run exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

reps=3 base=1b7fab1
while (($#)); do
  case $1 in
    --reps) reps=$2; shift ;;
    --base) base=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "compile_bench.sh: unknown option '$1' (--reps N, --base COMMIT, --help)" >&2; exit 2 ;;
  esac
  shift
done
limit=${BENCH_TIMEOUT:-60}

# ---- release builds of jscc: this tree and the baseline
# (BENCH_NEW and BENCH_BASE name ready-built binaries instead)
if [ -z "${BENCH_NEW:-}" ]; then
  [ -d build-bench ] || meson setup build-bench --buildtype=release -Dtests=false >/dev/null
  ninja -C build-bench build.ninja >/dev/null
  ninja -C build-bench tools/jscc >/dev/null
fi
if [ -z "${BENCH_BASE:-}" ] && { [ ! -x build-bench-base/build/tools/jscc ] ||
                                  [ "$(cat build-bench-base/commit 2>/dev/null)" != "$base" ]; }; then
  rm -rf build-bench-base
  mkdir -p build-bench-base/src
  git archive "$base" | tar -x -C build-bench-base/src
  meson setup build-bench-base/build build-bench-base/src --buildtype=release -Dtests=false >/dev/null
  ninja -C build-bench-base/build tools/jscc >/dev/null
  echo "$base" >build-bench-base/commit
fi
new=${BENCH_NEW:-build-bench/tools/jscc}
old=${BENCH_BASE:-build-bench-base/build/tools/jscc}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
models=(w1024 w4096 w65536 jsc_big)
declare -A path=([jsc_big]=examples/jsc_big.jsc)
declare -A target=([w1024]=300 [w4096]=500 [jsc_big]=150)
declare -A label=([w1024]="16-1024-5" [w4096]="16-4096-5" [w65536]="16-65536-5" [jsc_big]="jsc_big")
for w in 1024 4096 65536; do
  path[w$w]=$work/w$w.jsc
  printf 'model Wide {\n    input x: f32[B, 16]\n    net = Sequential(Linear(16, %d), ReLU(), Linear(%d, 5))\n    return net(x)\n}\n' \
    "$w" "$w" >"$work/w$w.jsc"
done

# compile_ms BINARY MODEL: the engine line's "compiled in N ms", or "> limit" when the run
# did not finish in time; a run that fails otherwise stops the bench
compile_ms() {
  local cache out rc=0
  cache=$(mktemp -d "$work/cache.XXXX")
  out=$(JSCC_CACHE_DIR=$cache timeout "$limit" "$1" train "$2" --max-epochs 1 --synth-n 2000 \
        --out "$cache/run" 2>&1) || rc=$?
  rm -rf "$cache"
  if ((rc == 124)); then echo "> $((limit * 1000))"; return; fi
  if ((rc != 0)); then echo "compile_bench.sh: $1 train $2 failed (exit $rc):" >&2; echo "$out" >&2; exit 1; fi
  sed -n 's/.*compiled in \([0-9]*\) ms.*/\1/p' <<<"$out"
}
# compile_cpu BINARY MODEL: the user + system CPU ms of `jscc train MODEL --dump-llvm`, which
# compiles both steps and neither loads data nor trains: the compile's own cost, which a
# shared machine's wall time hides ("> limit" past the time limit)
compile_cpu() {
  local cache t rc=0
  cache=$(mktemp -d "$work/cache.XXXX")
  t=$(JSCC_CACHE_DIR=$cache /usr/bin/time -f '%U %S' timeout "$limit" "$1" train "$2" --dump-llvm 2>&1 >/dev/null |
      tail -1) || rc=$?
  rm -rf "$cache"
  if ((rc == 124)) || [[ $t == *"exited with"* ]]; then echo "> $((limit * 1000))"; return; fi
  awk '{ printf "%d\n", ($1 + $2) * 1000 }' <<<"$t"
}
# the smaller of two figures, a "> N" counting as N plus one
less() {
  local a=${1#> } b=${2#> }
  [[ $1 == ">"* ]] && a=$((a + 1))
  [[ $2 == ">"* ]] && b=$((b + 1))
  if ((a <= b)); then echo "$1"; else echo "$2"; fi
}

# baseline / this tree, "> " when the baseline timed out, "-" when this tree did
ratio() {
  if [[ $2 == ">"* ]]; then echo "-"; return; fi
  awk -v a="${1#> }" -v b="$2" -v gt="${1%%[0-9]*}" 'BEGIN { printf "%s%.1fx", (gt == "> " ? "> " : ""), a / (b > 0 ? b : 1) }'
}

date=$(date -u +%F)
report=bench/results/compile_$date.md
{
  echo "# JIT compile time, $(date -u '+%F %H:%M UTC')"
  echo
  echo "\`bash bench/compile_bench.sh --reps $reps\`: this tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ', with local changes'))"
  echo "against $base, release builds, $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'))."
  echo "Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg).  Minimum of $reps runs each, fresh kernel cache per run;"
  echo "\"compiled in\" covers rendering and compiling both steps (training and evaluation)."
  echo
  echo "Wall: the engine line's \"compiled in\"; CPU: user + system time of \`jscc train MODEL --dump-llvm\`."
  echo
  echo "| model | baseline wall ms | this tree wall ms | ratio | baseline CPU ms | this tree CPU ms | ratio | target ms (wall) |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
} >"$work/head"
cat "$work/head"
rows=""
for m in "${models[@]}"; do
  bo="" bn="" co="" cn=""
  for ((i = 0; i < reps; i++)); do
    o=$(compile_ms "$old" "${path[$m]}")
    n=$(compile_ms "$new" "${path[$m]}")
    bo=${bo:+$(less "$bo" "$o")}; bo=${bo:-$o}
    bn=${bn:+$(less "$bn" "$n")}; bn=${bn:-$n}
    o=$(compile_cpu "$old" "${path[$m]}")
    n=$(compile_cpu "$new" "${path[$m]}")
    co=${co:+$(less "$co" "$o")}; co=${co:-$o}
    cn=${cn:+$(less "$cn" "$n")}; cn=${cn:-$n}
  done
  ratio=$(ratio "$bo" "$bn")
  cratio=$(ratio "$co" "$cn")
  t=${target[$m]:-"compiles and trains"}
  miss=""
  if [[ -n ${target[$m]:-} ]] && { [[ $bn == ">"* ]] || ((bn > ${target[$m]})); }; then miss=" MISSED"; fi
  row="| ${label[$m]} | $bo | $bn | $ratio | $co | $cn | $cratio | $t$miss |"
  echo "$row"
  rows+="$row"$'\n'
done
tail="Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
echo; echo "$tail"
{ cat "$work/head"; printf '%s' "$rows"; echo; echo "$tail"; } >"$report"
echo "wrote $report"

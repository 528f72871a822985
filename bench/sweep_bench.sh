#!/usr/bin/env bash
# bench/sweep_bench.sh [--quick] [--models M1,M2] [--synth-n N] — Lab 1's grid with `jscc sweep`
# against the same trials as one-after-another `jscc train` runs, and against PyTorch 1.13.
#
# For jsc_tiny and jsc_big, the grid of Lab 1: batch sizes 64..2048 x learning rates
# 1e-6..1e-2 x 10 epochs (--quick: batch 256 and 2048, 3 epochs), Adam, seed 0, on the
# bundled synthetic data (release build in build-bench/):
#   - sweep:      `jscc sweep MODEL --batch-size ... --lr ... --max-epochs E --seed 0`, every
#                 core (the default --jobs), under GNU time: end to end, report.html included;
#   - sequential: every trial's own `jscc train` command (its argv in sweep.json, its own
#                 --out), one after another, under GNU time;
#   - PyTorch:    bench/torch_train.py's slicing loop, one timed epoch per batch size (after a
#                 20-step warm-up), times the epochs and the learning rates: what the grid
#                 costs as one-thread PyTorch runs one after another (training only).
# Checks that every trial's metrics.csv, timing columns aside, equals its sequential run's.
# Target: the sweep takes at most half the sequential wall time (ratio >= 2); per-trial
# overhead, training aside, <= 20 ms: measured twice, as the thread time outside the Lab 1
# grid's training loops per trial, and as the cost of one more trial with training all but
# removed (1 against 41 trials of one epoch on 3,000 jets).  A missed target prints MISSED; only a
# failed run (or a metrics mismatch) exits non-zero.  Writes bench/results/sweep_DATE.md
# (sweep_DATE-quick.md); --synth-n N (a small synthetic data set, for trying the script)
# prints the report without writing it.  Installs what is missing as train_bench.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
synth_n=""
models=(jsc_tiny jsc_big)
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --models) [ $# -ge 2 ] || { echo "sweep_bench.sh: --models needs a value" >&2; exit 2; }
              IFS=, read -r -a models <<<"$2"; shift ;;
    --synth-n) [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "sweep_bench.sh: --synth-n needs a number" >&2; exit 2; }
               synth_n=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "sweep_bench.sh: unknown option '$1' (--quick, --models, --synth-n, --help)" >&2; exit 2 ;;
  esac
  shift
done
for m in "${models[@]}"; do
  [ -f "examples/$m.jsc" ] || { echo "sweep_bench.sh: no model examples/$m.jsc" >&2; exit 2; }
done
lrs=(1e-6 1e-5 1e-4 1e-3 1e-2)
if ((quick)); then
  batches=(256 2048); epochs=3; opt=" --quick"; suffix=-quick
else
  batches=(64 128 256 512 1024 2048); epochs=10; opt=""; suffix=""
fi
[ "${models[*]}" = "jsc_tiny jsc_big" ] || { opt="$opt --models $(IFS=,; echo "${models[*]}")"; suffix="$suffix-$(IFS=-; echo "${models[*]}")"; }
[ -z "$synth_n" ] || opt="$opt --synth-n $synth_n"
target_ratio=2      # sequential wall time / sweep wall time, on this 2-core machine
target_ms=20        # per-trial overhead outside the training loops
python=${PYTHON:-/usr/bin/python3}
bcsv=$(IFS=,; echo "${batches[*]}")
lcsv=$(IFS=,; echo "${lrs[*]}")
synth=(); [ -z "$synth_n" ] || synth=(--synth-n "$synth_n")

# ---- packages and the release build, as train_bench.sh
bash scripts/deps.sh python3-torch libopenblas0-openmp
[ -d build-bench ] || meson setup build-bench --buildtype=release -Dtests=false >/dev/null
ninja -C build-bench build.ninja >/dev/null
ninja -C build-bench tools/jscc bench/export_data >/dev/null
jscc=$PWD/build-bench/tools/jscc
helper=build-bench/bench/export_data

export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
work=$(mktemp -d)
# the same sweep once more in memory (tmpfs: fsync is free), to show what durability costs
shm=""; [ -d /dev/shm ] && [ -w /dev/shm ] && shm=$(mktemp -d -p /dev/shm)
trap 'rm -rf "$work" ${shm:+"$shm"}' EXIT
trap 'exit 130' INT TERM
fail() { echo "sweep_bench.sh: $*" >&2; exit 1; }
trap 'echo "sweep_bench.sh: line $LINENO failed" >&2' ERR
now() { date +%s.%N; }
t_script=$(now)

# ---- the data, once: PyTorch's copy of the training split (this also fills jscc's cache)
read -r rows data_hash _ < <("$helper" export "$work/train.bin" "${synth[@]}") || fail "exporting the data failed"
[ -n "${data_hash:-}" ] || fail "exporting the data failed"

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
ncpu=$(getconf _NPROCESSORS_ONLN)
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
stamp=$(date +%Y-%m-%d)
md="$work/report.md"
rowsf="$work/rows.md"
: >"$rowsf"
details="$work/details.md"
: >"$details"
mismatch=0

# Sum of a metrics.csv column over the run directories under DIR.
colsum() {
  find "$1" -name metrics.csv -print0 | xargs -0 awk -F, -v col="$2" '
    FNR == 1 { c = 0; for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
    c { s += $c } END { printf "%.6f\n", s }'
}
# metrics.csv without its timing columns.
untimed() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) keep[i] = $i !~ /^(epoch_seconds|samples_per_second|train_seconds)$/ }
           { s = ""; for (i = 1; i <= NF; i++) if (keep[i]) s = s (s == "" ? "" : ",") $i; print s }' "$1"
}

for model in "${models[@]}"; do
  src=examples/$model.jsc
  echo "== $model" >&2
  t_model=$(now)
  grid=(--batch-size "$bcsv" --lr "$lcsv" --max-epochs "$epochs" --seed 0 "${synth[@]}")

  # warm-up: one epoch per batch size, so that both sides find the data and the compiled
  # kernels in the cache (~/.cache/jscc) and neither pays the first compile
  "$jscc" sweep "$src" --batch-size "$bcsv" --lr 1e-3 --max-epochs 1 "${synth[@]}" --keep none --no-report \
    --out "$work/warm-$model" >"$work/warm-$model.log" 2>&1 || { cat "$work/warm-$model.log" >&2; fail "warm-up sweep failed"; }

  # ---- the sweep, end to end
  sw="$work/sweep-$model"
  /usr/bin/time -f '%e %U %S' -o "$work/time-sweep" "$jscc" sweep "$src" "${grid[@]}" --out "$sw" \
    >"$work/sweep-$model.log" 2>&1 || { cat "$work/sweep-$model.log" >&2; fail "jscc sweep $model failed"; }
  read -r sw_wall sw_user sw_sys < <(tail -1 "$work/time-sweep")
  tail -2 "$work/sweep-$model.log" >&2
  jobs=$(sed -n '1s/.*"jobs":\([0-9]*\).*/\1/p' "$sw/journal.jsonl")
  [ -n "$jobs" ] || fail "$sw/journal.jsonl has no jobs"
  summary=$(grep -m1 '^[0-9]* trials:' "$work/sweep-$model.log" | cut -d';' -f1)
  grep -q "\"hash\": \"$data_hash\"" "$sw"/trials/000-*/manifest.json || fail "the sweep trained on other data than PyTorch gets"

  # ---- the same trials, one `jscc train` after another: each trial's argv from sweep.json
  "$python" - "$sw/sweep.json" "$jscc" "$work/seq-$model" "$work/dirs-$model" >"$work/seq-$model.sh" <<'EOF'
import json, shlex, sys
sweep, jscc, out, dirs = sys.argv[1:]
trials = json.load(open(sweep))["trials"]
for t in trials:
    argv = [jscc] + t["argv"][1:] + ["--out", f"{out}/{t['dir']}"]
    print(" ".join(map(shlex.quote, argv)), ">", shlex.quote(f"{out}/{t['id']:03d}.log"), "2>&1")
open(dirs, "w").write("".join(t["dir"] + "\n" for t in trials))
EOF
  ntrials=$(wc -l <"$work/seq-$model.sh")
  mkdir -p "$work/seq-$model"
  /usr/bin/time -f '%e %U %S' -o "$work/time-seq" bash -e "$work/seq-$model.sh" || fail "a sequential jscc train run of $model failed"
  read -r sq_wall sq_user sq_sys < <(tail -1 "$work/time-seq")
  echo "$model: sweep $sw_wall s, sequential $sq_wall s ($ntrials trials)" >&2

  # ---- diagnostics: the same sweep with its directory in memory: the journal's and checkpoints' fsyncs cost nothing
  shm_over=""
  if [ -n "$shm" ]; then
    /usr/bin/time -f '%e' -o "$work/time-shm" "$jscc" sweep "$src" "${grid[@]}" --out "$shm/sweep-$model" \
      >"$work/shm-$model.log" 2>&1 || { cat "$work/shm-$model.log" >&2; fail "jscc sweep $model in $shm failed"; }
    shm_over=$(awk -v w="$(tail -1 "$work/time-shm")" -v j="$jobs" -v st="$(colsum "$shm/sweep-$model/trials" train_seconds)" \
                   -v n="$(grep -c '"dir": "trials/' "$shm/sweep-$model/sweep.json")" 'BEGIN { printf "%.1f", (w * j - st) / n * 1000 }')
    rm -rf "${shm:?}/sweep-$model"
  fi

  # what one report.html costs (the sweep writes it at the end and refreshes it every 2 s or more)
  /usr/bin/time -f '%e' -o "$work/time-report" "$jscc" report "$sw" --out "$work/report-$model" >/dev/null 2>&1 \
    || fail "jscc report $model failed"
  report_s=$(tail -1 "$work/time-report")

  # ---- every trial's metrics, timings aside, as its sequential run's
  equal=0
  while read -r dir; do
    if cmp -s <(untimed "$sw/$dir/metrics.csv") <(untimed "$work/seq-$model/$dir/metrics.csv"); then
      equal=$((equal + 1))
    else
      echo "sweep_bench.sh: $model $dir: metrics.csv differs from its sequential run" >&2
    fi
  done <"$work/dirs-$model"
  ((equal == ntrials)) || mismatch=1

  # ---- PyTorch: one epoch per batch size, times the epochs and the learning rates
  "$python" bench/torch_train.py --data "$work/train.bin" --model "$model" --batch-sizes "$bcsv" \
    --loaders slicing >"$work/torch-$model.csv" || fail "PyTorch $model failed"
  cat "$work/torch-$model.csv" >&2
  torch_info=$(sed -n 's/^# //p' "$work/torch-$model.csv")
  torch_grid=$(awk -F, -v e="$epochs" -v l="${#lrs[@]}" '$2 == "slicing" { s += $4 * e * l } END { printf "%.2f\n", s }' "$work/torch-$model.csv")
  torch_epochs=$(awk -F, '$2 == "slicing" { printf "%s%s %.2f", (n++ ? ", " : ""), $3, $4 }' "$work/torch-$model.csv")

  sw_train=$(colsum "$sw/trials" train_seconds)
  sw_epoch=$(colsum "$sw/trials" epoch_seconds)
  sq_train=$(colsum "$work/seq-$model" train_seconds)
  model_s=$(awk -v a="$t_model" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }')

  awk -v m="$model" -v n="$ntrials" -v e="$epochs" -v sw="$sw_wall" -v sq="$sq_wall" -v tg="$torch_grid" \
      -v j="$jobs" -v st="$sw_train" -v se="$sw_epoch" -v eq="$equal" -v tr="$target_ratio" -v tm="$target_ms" 'BEGIN {
    r = sq / sw; ov = (sw * j - st) / n * 1000; inep = (se - st) / n * 1000
    rmark = r >= tr ? "met" : "MISSED"; omark = ov <= tm ? "met" : "MISSED"
    printf "| %s | %d | %d | %d | %.2f | %.2f | %.2fx (target %dx: %s) | %.1f | %.1fx | %.1f (target %d ms: %s) | %.1f | %d/%d |\n",
           m, n, e, j, sw, sq, r, tr, rmark, tg, tg / sw, ov, tm, omark, ov - inep, eq, n }' >>"$rowsf"
  awk -v m="$model" -v su="$sw_user" -v ss="$sw_sys" -v qu="$sq_user" -v qs="$sq_sys" -v st="$sw_train" \
      -v qt="$sq_train" -v sq="$sq_wall" -v n="$ntrials" -v te="$torch_epochs" -v ms="$model_s" -v sum="$summary" \
      -v rs="$report_s" -v so="${shm_over:-n/a}" 'BEGIN {
    printf "- **%s** (%s): CPU time (user + system) sweep %.2f s, sequential %.2f s.  Sum of `train_seconds` over all epochs of all trials: sweep %.2f s, sequential %.2f s.  Sequential time per run outside its training loop (process start, libLLVM, data and kernel caches, validation, checkpoints): %.0f ms.  The same sweep in /dev/shm (tmpfs, where fsync costs nothing): overhead %s ms per trial.  One report.html (`jscc report` on the finished sweep): %.2f s = %.0f ms per trial.  PyTorch s/epoch by batch: %s.  This model took %d s of the run.\n",
           m, sum, su + ss, qu + qs, st, qt, (sq - qt) / n * 1000, so, rs, rs / n * 1000, te, ms }' >>"$details"
done

# ---- the sweep's cost per trial with training all but removed: 1 and 41 trials of one epoch of
# jsc_tiny on 3,000 jets (2,280 training rows), one job, report.html refreshed as in any sweep.
# The difference per extra trial is everything a trial costs besides a real training loop:
# its run directory, validation, fsync'd checkpoints and journal lines, the test evaluation,
# results.csv and the report's refreshes.
tiny=(sweep examples/jsc_tiny.jsc --max-epochs 1 --synth-n 3000 --jobs 1)
"$jscc" "${tiny[@]}" --lr 1e-3 --out "$work/ovh-warm" >/dev/null 2>&1 || fail "the overhead sweep failed"
t0=$(now); "$jscc" "${tiny[@]}" --lr 1e-3 --out "$work/ovh-1" >/dev/null 2>&1 || fail "the overhead sweep failed"
t1=$(now); "$jscc" "${tiny[@]}" --lr lin:1e-4:1e-2:41 --out "$work/ovh-41" >/dev/null 2>&1 || fail "the overhead sweep failed"
t2=$(now)
machinery=$(awk -v a="$t0" -v b="$t1" -v c="$t2" -v tm="$target_ms" 'BEGIN {
  o = ((c - b) - (b - a)) / 40 * 1000
  printf "%.1f ms per trial (target %d ms: %s); 1 trial %.3f s, 41 trials %.3f s", o, tm, o <= tm ? "met" : "MISSED", b - a, c - b }')
echo "per-trial cost, training all but removed: $machinery" >&2

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
total_s=$(awk -v a="$t_script" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }')
{
  echo "# Sweep benchmark, $stamp${opt:+ (${opt# })}"
  echo
  echo "\`bash bench/sweep_bench.sh$opt\` at jscc $commit on $cpu ($ncpu CPUs), load average $load_start at the" \
       "start and $load_end at the end; the whole run took $total_s s.  Lab 1's grid: batch $bcsv x lr $lcsv x" \
       "$epochs epochs, Adam, seed 0, on $rows training rows of the bundled SYNTHETIC data (hash $data_hash)." \
       "PyTorch: $torch_info, slicing loop."
  echo
  echo "| model | trials | epochs | jobs | jscc sweep s | sequential jscc train s | sequential / sweep | PyTorch est. s | PyTorch / sweep | overhead ms/trial | of which outside epochs | metrics equal |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  cat "$rowsf"
  echo
  cat "$details"
  echo
  echo "**Per-trial cost, training all but removed** (1 and then 41 trials of one epoch of jsc_tiny on 3,000" \
       "jets, one job, report.html refreshed; the difference per extra trial: its run directory, validation," \
       "fsync'd checkpoints and journal lines, test evaluation, results.csv and the report): $machinery."
  echo
  echo "All times are wall-clock seconds of this one run, sweep, sequential runs and PyTorch one after another on" \
       "the same machine; compare them only with each other.  *jscc sweep s*: \`jscc sweep\` end to end (the" \
       "process, every trial, journal, results.csv, report.html).  *sequential*: each trial's \`jscc train\` command" \
       "from sweep.json, one after another.  *PyTorch est.*: one timed epoch per batch size x epochs x" \
       "${#lrs[@]} learning rates, training only (no validation, no process start).  *overhead ms/trial* =" \
       "(sweep wall x jobs - sum of train_seconds) / trials: the thread-seconds the sweep had that did not go" \
       "into training loops, per trial (validation, checkpoints, the test-split evaluation each trial ends with," \
       "setup, journal, report, an idle thread at the end); *of which outside epochs* leaves out validation and" \
       "checkpoints too (sum of epoch_seconds - train_seconds); *in /dev/shm*: the overhead of the same sweep with its directory on tmpfs, where fsync costs nothing.  Other jobs on the machine inflate the overhead" \
       "(the sweep's threads get less than jobs x wall of CPU).  *metrics equal*: trials whose metrics.csv," \
       "timing columns aside, equals the sequential run's."
} >"$md"

cat "$md"
echo
if [ -z "$synth_n" ]; then
  mkdir -p bench/results
  out=bench/results/sweep_$stamp$suffix.md
  cp "$md" "$out.tmp.$$" && mv -f "$out.tmp.$$" "$out"
  echo "written to $out"
else
  echo "(--synth-n: not written to bench/results)"
fi
((mismatch == 0)) || fail "some trials' metrics differ from their sequential runs"

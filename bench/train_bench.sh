#!/usr/bin/env bash
# bench/train_bench.sh [--quick] — CPU training benchmark: jscc's JIT against PyTorch 1.13.
#
# For jsc_tiny and jsc_big at batch sizes 64..2048 (--quick: 256 only) on the 630,800-row
# training split of the bundled synthetic data, one thread each:
#   - jscc: `jscc train MODEL --max-epochs 4 --engine jit` (release build in build-bench/):
#     train_seconds and samples_per_second from metrics.csv of the median of epochs 2..4 (the
#     1st may include warm-up; one epoch of a fraction of a second is at the mercy of other
#     jobs), and the run's peak RSS (GNU time);
#   - PyTorch (bench/torch_train.py) on the very same standardised rows (bench/export_data
#     writes them from rt_data_load), same architecture, Adam lr 1e-3, same batch size,
#     reshuffled: a tensor-slicing loop and a DataLoader(TensorDataset) loop, one timed
#     epoch each after a short warm-up;
#   - GFLOP/s: the training plan's flops per row x samples/s, against one core's FMA peak
#     measured by bench/peak_flops.
# Prints one markdown table per model and writes the same to bench/results/train_DATE.md.
# Targets (batch 256): jsc_tiny >= 30x PyTorch's slicing loop, jsc_big >= 10x; peak RSS
# <= 2x the training split's bytes.  A missed target prints MISSED; only a failed run exits
# non-zero.  Installs what is missing: scripts/deps.sh, python3-torch, libopenblas0-openmp.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
for a in "$@"; do
  case $a in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "train_bench.sh: unknown option '$a' (--quick, --help)" >&2; exit 2 ;;
  esac
done
if ((quick)); then
  batches=(256); opt=" --quick"; suffix=-quick
else
  batches=(64 128 256 512 1024 2048); opt=""; suffix=""
fi
models=(jsc_tiny jsc_big)
declare -A target=([jsc_tiny]=40 [jsc_big]=15)  # x PyTorch's slicing loop at batch 256
target_batch=256
jepochs=4                                       # jscc epochs per run: 1 warm-up, the median of 3
python=${PYTHON:-/usr/bin/python3}              # Debian's python3-torch lives here

# ---- packages: the build's, PyTorch 1.13 and OpenBLAS (PyTorch's best single-thread BLAS)
bash scripts/deps.sh python3-torch libopenblas0-openmp

# ---- release build (a debug build re-verifies the graph after every pass)
[ -d build-bench ] || meson setup build-bench --buildtype=release -Dtests=false >/dev/null
ninja -C build-bench build.ninja >/dev/null   # regenerate first when a meson.build changed
targets=$(ninja -C build-bench -t targets all)  # (not piped into grep -q: pipefail and SIGPIPE)
if ! grep -q '^bench/export_data:' <<<"$targets"; then
  echo "train_bench.sh: build-bench has no bench/ targets: the root meson.build needs" \
       "subdir('bench') after subdir('tools')" >&2
  exit 1
fi
ninja -C build-bench tools/jscc bench/export_data bench/peak_flops >/dev/null
jscc=build-bench/tools/jscc
helper=build-bench/bench/export_data

export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
fail() { echo "train_bench.sh: $*" >&2; exit 1; }
trap 'echo "train_bench.sh: line $LINENO failed" >&2' ERR

# ---- the data, once: the training split as `jscc train` loads it (this also fills the cache)
read -r rows data_hash train_bytes < <("$helper" export "$work/train.bin") || fail "exporting the data failed"
[ -n "${train_bytes:-}" ] || fail "exporting the data failed"
read -r peak_gf lanes isa < <(build-bench/bench/peak_flops) || fail "bench/peak_flops failed"
# the bare binary's RSS (libLLVM and the other libraries it maps), for the memory lines
/usr/bin/time -f %M -o "$work/rss0" "$jscc" --list-passes >/dev/null || fail "jscc --list-passes failed"
base_kib=$(cat "$work/rss0")

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
stamp=$(date +%Y-%m-%d)
md="$work/report.md"
{
  echo "# CPU training benchmark, $stamp${opt:+ (${opt# })}"
  echo
  echo "\`bash bench/train_bench.sh$opt\` at jscc $commit on $cpu ($(getconf _NPROCESSORS_ONLN) CPUs," \
       "load average $load_start at the start), one thread each.  Training split: $rows rows of the" \
       "bundled SYNTHETIC data (hash $data_hash), $train_bytes bytes.  One core's measured FMA peak:" \
       "$peak_gf GFLOP/s ($isa, $lanes floats per vector)."
} >"$md"

# ---- per model: jscc at every batch size, then PyTorch's two loops
for model in "${models[@]}"; do
  src=examples/$model.jsc
  echo "== $model" >&2
  declare -A flops=()
  while read -r b f _; do flops[$b]=$f; done < <("$helper" flops "$src" "${batches[@]}")
  for b in "${batches[@]}"; do [ -n "${flops[$b]:-}" ] || fail "no training plan for $model at batch $b"; done
  declare -A jsec=() jsps=() rss=()
  for b in "${batches[@]}"; do
    run="$work/run-$model-$b"
    /usr/bin/time -f %M -o "$work/rss" "$jscc" train "$src" --batch-size "$b" --lr 1e-3 --max-epochs "$jepochs" \
      --optimizer adam --seed 0 --engine jit --quiet --out "$run" >"$work/log" 2>&1 \
      || { cat "$work/log" >&2; fail "jscc train $model --batch-size $b failed"; }
    # the median of the warm epochs (2..jepochs) by train_seconds (the training loop: shuffle,
    # batch gathering and the fused steps; what PyTorch's timed epoch covers), with its samples/s
    line=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                    $1 >= 2 { print $c["train_seconds"], $c["samples_per_second"] }' "$run/metrics.csv" \
           | sort -g | sed -n "$(( jepochs / 2 ))p") || fail "reading $run/metrics.csv failed"
    [ -n "$line" ] || fail "$run/metrics.csv has fewer than $jepochs epochs"
    read -r "jsec[$b]" "jsps[$b]" <<<"$line"
    rss[$b]=$(tail -1 "$work/rss")
    grep -q "\"hash\": \"$data_hash\"" "$run/manifest.json" || fail "jscc trained on other data than PyTorch gets"
    echo "jscc $model batch $b: ${jsec[$b]} s/epoch, ${jsps[$b]} samples/s, peak ${rss[$b]} KiB" >&2
  done
  csv=$(IFS=,; echo "${batches[*]}")
  "$python" bench/torch_train.py --data "$work/train.bin" --model "$model" --batch-sizes "$csv" \
    >"$work/torch-$model.csv" || fail "PyTorch $model failed"
  cat "$work/torch-$model.csv" >&2
  # jscc shuffles the next epoch on a second thread: PyTorch's slicing loop with two threads too
  OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 "$python" bench/torch_train.py --data "$work/train.bin" \
    --model "$model" --batch-sizes "$csv" --loaders slicing --threads 2 >"$work/torch2-$model.csv" \
    || fail "PyTorch $model (2 threads) failed"
  cat "$work/torch2-$model.csv" >&2
  torch_info=$(sed -n 's/^# //p' "$work/torch-$model.csv")

  {
    echo
    echo "## $model"
    echo
    echo "| batch | jscc s/epoch | jscc samples/s | torch slicing s/epoch | torch DataLoader s/epoch | ratio vs slicing | ratio vs DataLoader | torch slicing 2 threads s/epoch | ratio vs slicing 2 threads | GFLOP/s | % of peak |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for b in "${batches[@]}"; do
      ts=$(awk -F, -v b="$b" '$2 == "slicing" && $3 == b { print $4 }' "$work/torch-$model.csv")
      td=$(awk -F, -v b="$b" '$2 == "dataloader" && $3 == b { print $4 }' "$work/torch-$model.csv")
      t2=$(awk -F, -v b="$b" '$2 == "slicing" && $3 == b { print $4 }' "$work/torch2-$model.csv")
      [[ -n $ts && -n $td && -n $t2 ]] || fail "PyTorch $model printed no time for batch $b"
      awk -v b="$b" -v js="${jsec[$b]}" -v sps="${jsps[$b]}" -v ts="$ts" -v td="$td" -v t2="$t2" -v fl="${flops[$b]}" \
          -v peak="$peak_gf" -v tgt="${target[$model]}" -v tb="$target_batch" 'BEGIN {
        rs = ts / js; rd = td / js; r2 = t2 / js; gf = fl * sps / 1e9
        mark = ""
        if (b == tb) mark = rs >= tgt ? sprintf(" (target %dx: met)", tgt) : sprintf(" (target %dx: MISSED)", tgt)
        printf "| %d | %.3f | %.0f | %.2f | %.2f | %.1fx%s | %.1fx | %.2f | %.1fx | %.2f | %.1f |\n",
               b, js, sps, ts, td, rs, mark, rd, t2, r2, gf, 100 * gf / peak }'
    done
    max_kib=0; min_kib=
    for b in "${batches[@]}"; do
      ((rss[$b] > max_kib)) && max_kib=${rss[$b]}
      [ -z "$min_kib" ] || ((rss[$b] < min_kib)) && min_kib=${rss[$b]}
    done
    echo
    awk -v mx="$max_kib" -v mn="$min_kib" -v tb="$train_bytes" -v base="$base_kib" 'BEGIN {
      r = mx * 1024 / tb
      printf "Peak RSS of `jscc train` (whole run): %.1f MiB at most over the batch sizes (least %.1f MiB) = %.2fx the training split (%.1f MiB); target <= 2x: %s.  The bare binary (`jscc --list-passes`: libLLVM and the other libraries it maps) peaks at %.1f MiB; above that, the run peaks at %.1f MiB = %.2fx the training split.\n",
             mx / 1024, mn / 1024, r, tb / 1048576, r <= 2 ? "met" : "MISSED", base / 1024, (mx - base) / 1024, (mx - base) * 1024 / tb }'
    echo
    echo "Flops per row of the training plan (forward, loss, backward, Adam): ${flops[${batches[0]}]}. PyTorch: $torch_info."
    echo "PyTorch's CPU seconds per epoch (slicing / DataLoader), less stretched by other jobs than the wall time:" \
      "$(awk -F, '$2 == "slicing" { s[$3] = $6 } $2 == "dataloader" { d[$3] = $6; o[++n] = $3 }
                  END { for (i = 1; i <= n; i++) printf "%sbatch %s %.2f / %.2f", (i > 1 ? ", " : ""), o[i], s[o[i]], d[o[i]] }' \
                  "$work/torch-$model.csv")."
  } >>"$md"
  unset flops jsec jsps rss
done

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo
  echo "jscc s/epoch is the median of epochs 2..$jepochs by train_seconds: the training loop (shuffle, batch" \
       "gathering, the fused steps), as PyTorch's timed epoch is; validation and checkpoints are not in either." \
       "Ratios are PyTorch's epoch over jscc's.  Load average at the end: $load_end; on a shared machine every number moves by tens" \
       "of per cent between runs."
} >>"$md"

mkdir -p bench/results
out=bench/results/train_$stamp$suffix.md
cp "$md" "$out.tmp.$$" && mv -f "$out.tmp.$$" "$out"
cat "$md"
echo
echo "written to $out"

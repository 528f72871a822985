#!/usr/bin/env bash
# bench/gpu.sh [--cpu-check | --prepare] [--quick] — build jscc on the GPU machine, run its
# tests there, and time `jscc train --device=cuda` against eager PyTorch on the same GPU.
#
# The GPU machine has gcc, meson, ninja, CUDA and PyTorch but no Debian packages (no flex, bison,
# LLVM, HDF5, pkg-config, CMocka), so the build is the portable one:
#   meson setup build-gpu --buildtype=release -Dllvm=disabled -Dhdf5=disabled
#         -Dparsers=pregenerated -Dcmocka=auto
# with CMocka taken from build-gpub-deps/ when that was carried along (bench/gpu.sh --prepare
# fills it here from Debian's libcmocka packages); without it the unit tests are skipped and
# the CLI tests still run.  Steps, each logged, timed and under `timeout` (a failed step is
# reported and the script goes on; the whole run stops starting steps after GPU_BUDGET seconds,
# default 460, and no step runs past it):
#   1. the machine: nvidia-smi -L, gcc, meson, ninja, nvcc, torch;
#   2. configure and build build-gpu/;
#   3. the GPU tests: codegen/test_cuda (NVRTC and ptxas) and runtime/test_device;
#   4. the data: build-gpu/bench/export_data writes the 630,800-row training split of the
#      synthetic data, as `jscc train` loads it, for PyTorch;
#   5. jscc: for jsc_tiny and jsc_big at batch 64, 128, 256, 512, 1024, 2048 (--quick: 256),
#      `jscc train MODEL --device=cuda --max-epochs 3 --batch-size B --lr 1e-3 --optimizer adam
#      --seed 0 --quiet --out DIR`; s/epoch = the median of epochs 2..3 of DIR/metrics.csv's
#      train_seconds (the 1st includes the kernels' compilation and warm-up);
#   6. the Lab 1 grid: build-gpu/bench/gpu_sweep, jsc_tiny at batch 64 .. 2048 (--quick: 256) x
#      5 learning rates (1e-4 .. 1e-2) x 10 epochs, Adam, validated every epoch; each batch size's
#      5 trials as one group (one launch per epoch, a block per trial) and then one by one (an
#      engine each, the `jscc train --device=cuda` path): seconds, speedup, and a check that
#      every trial ends equal to the bit on both paths;
#   7. PyTorch: bench/torch_gpu.py, same architecture, Adam lr 1e-3, eager, same batch size, the
#      data as CUDA tensors, one timed epoch after a warm-up (TORCH_EPOCHS=N: the median of N);
#   8. every other test (unit and CLI), in parallel, in the time left (CI runs those too);
#   9. the report: one markdown table per model (batch, jscc s/epoch, PyTorch s/epoch, ratio),
#      the targets (batch 256: >= 20x PyTorch for both models; jsc_tiny epoch < 50 ms), the Lab 1
#      grid's table, the step list, and nvidia-smi's output.
# Writes $OUT/gpu_results.md, $OUT/gpu_log.txt (everything printed) and the tests' logs
# (gpu_testlog.txt, gpu_other_testlog.txt); $OUT unset: bench/results/.  GPU_BUILD=DIR builds in DIR
# instead of build-gpu/.
# Exit status: 0 when every step passed (a missed target is not a failure), 1 otherwise, 2 bad usage.
#
#   --prepare    (here) fill build-gpub-deps/cmocka/ from libcmocka0 and libcmocka-dev (.debs in
#                apt's cache, else `apt-get download`) for the GPU machine: carry it along.
#   --cpu-check  (here) every step that needs no GPU: the argument handling, --prepare, the
#                portable build in build-gpub-cpu/ with flex, bison, llvm-config and pkg-config
#                off the PATH and CMocka first hidden (-Dcmocka=disabled: the CLI tests only),
#                then found the GPU machine's way (the carried copy through CPATH and
#                LIBRARY_PATH: the unit tests, the NVRTC compile tests among them), the data
#                export, and the benchmark's plumbing (batch 256, PyTorch on the CPU on 20,000
#                rows; `jscc train --device=cuda` and the Lab 1 grid (1 epoch on 20,000 jets)
#                are expected to fail without a GPU and are reported, not counted).  Writes $OUT
#                or build-gpub-cpu/results/.
#   --quick      batch 256 only.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD

mode=gpu quick=0
for a in "$@"; do
  case $a in
    --cpu-check) mode=cpu ;;
    --prepare) mode=prepare ;;
    --quick) quick=1 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$root/bench/gpu.sh" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu.sh: unknown option '$a' (--cpu-check, --prepare, --quick, --help)" >&2; exit 2 ;;
  esac
done

deps=$root/build-gpub-deps   # the carried CMocka (ignored by .gitignore's /build*/)

# ---- --prepare: CMocka for a machine without Debian packages, extracted from Debian's .debs
prepare() {
  local tmp deb
  tmp=$(mktemp -d) || return 1
  for p in libcmocka0 libcmocka-dev; do
    deb=$(ls /var/cache/apt/archives/${p}_*_amd64.deb 2>/dev/null | sort -V | tail -1)
    if [ -z "$deb" ]; then
      (cd "$tmp" && apt-get download "$p:amd64" >/dev/null) || { echo "gpu.sh: apt-get download $p failed" >&2; rm -rf "$tmp"; return 1; }
      deb=$(ls "$tmp"/${p}_*.deb | tail -1)
    fi
    dpkg-deb -x "$deb" "$tmp/root" || { rm -rf "$tmp"; return 1; }
  done
  rm -rf "$deps/cmocka"
  mkdir -p "$deps/cmocka"
  cp -a "$tmp/root/usr/include" "$tmp/root/usr/lib" "$deps/cmocka/" && rm -rf "$tmp" || return 1
  [ -f "$deps/cmocka/include/cmocka.h" ] && ls "$deps"/cmocka/lib/*/libcmocka.so.0 >/dev/null || return 1
  echo "build-gpub-deps/cmocka: $(ls "$deps"/cmocka/lib/*/libcmocka.so.0.*) (carry build-gpub-deps to the GPU machine)"
}
if [ "$mode" = prepare ]; then prepare; exit; fi

# ---- where things go
if [ "$mode" = cpu ]; then
  build=$root/build-gpub-cpu
  results=${OUT:-$build/results}
else
  build=${GPU_BUILD:-$root/build-gpu}
  results=${OUT:-$root/bench/results}
fi
mkdir -p "$results" || exit 1
report=$results/gpu_results.md
log=$results/gpu_log.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
exec > >(tee "$log") 2>&1
tee_pid=$!

# seconds; steps not started by then are reported as skipped (--cpu-check: -j2, no hurry)
if [ "$mode" = cpu ]; then budget=${GPU_BUDGET:-3600}; else budget=${GPU_BUDGET:-460}; fi
deadline=$((SECONDS + budget))
if ((quick)) || [ "$mode" = cpu ]; then batches=(256); else batches=(64 128 256 512 1024 2048); fi
models=(jsc_tiny jsc_big)
target_ratio=20 target_batch=256 target_tiny_ms=50
jepochs=3

steps=()        # "| step | result | seconds |" rows for the report
failed=0
# step NAME LIMIT [--may-fail] CMD...: runs CMD (a program or an exported function) under
# timeout, with PATH=$STEP_PATH when that is set, logs it and records the result; --may-fail:
# a failure is reported as expected and not counted (--cpu-check's GPU steps).
step() {
  local name=$1 limit=$2 may_fail=0; shift 2
  [ "${1:-}" = --may-fail ] && { may_fail=1; shift; }
  local left=$((deadline - SECONDS))
  if ((left < 15)); then
    echo "== $name: SKIPPED (out of time: GPU_BUDGET=$budget s)"
    steps+=("| $name | skipped: out of time | 0 |"); ((may_fail)) || failed=1
    return 1
  fi
  ((limit > left)) && limit=$left
  echo "== $name (timeout ${limit}s): $*"
  local t0=$SECONDS rc=0
  timeout -k 10 "$limit" env PATH="${STEP_PATH:-$PATH}" bash -c '"$@"' step "$@" || rc=$?
  local dt=$((SECONDS - t0)) what
  case $rc in
    0) what=ok ;;
    77) what="skipped (exit 77)" ;;
    124|137) what="TIMED OUT after ${limit}s" ;;
    *) what="FAILED (exit $rc)" ;;
  esac
  if ((rc != 0 && rc != 77)) && ((may_fail)); then what="$what, expected here"; fi
  echo "== $name: $what (${dt}s)"
  steps+=("| $name | $what | $dt |")
  if ((rc != 0 && rc != 77 && !may_fail)); then failed=1; fi
  return $rc
}

# meson and ninja: on the PATH, else the Python packages (the GPU machine's pip has both)
tools=$work/bin
mkdir -p "$tools"
if ! command -v meson >/dev/null && python3 -c 'import mesonbuild' 2>/dev/null; then
  printf '#!/bin/sh\nexec python3 -m mesonbuild.mesonmain "$@"\n' >"$tools/meson"
fi
if ! command -v ninja >/dev/null && python3 -c 'import ninja' 2>/dev/null; then
  printf '#!/bin/sh\nexec python3 -m ninja "$@"\n' >"$tools/ninja"
fi
chmod +x "$tools"/* 2>/dev/null
export PATH=$PATH:$tools

# PyTorch: python3 (the GPU machine's holds it), else Debian's (this machine's CPU torch)
python=${PYTHON:-python3}
if ! "$python" -c 'import torch' 2>/dev/null && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  python=/usr/bin/python3
fi

# The carried CMocka, the GPU machine's way: on the compiler's and the loader's paths.
use_carried_cmocka() {
  local lib
  lib=$(ls "$deps"/cmocka/lib/*/libcmocka.so 2>/dev/null | head -1)
  [ -f "$deps/cmocka/include/cmocka.h" ] && [ -n "$lib" ] || return 1
  export CPATH=$deps/cmocka/include${CPATH:+:$CPATH}
  export LIBRARY_PATH=${lib%/*}${LIBRARY_PATH:+:$LIBRARY_PATH}
  export LD_LIBRARY_PATH=${lib%/*}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
}

# A PATH without what the GPU machine lacks or cannot use: flex, bison, LLVM, HDF5, pkg-config,
# and cmake (there it finds no CMocka; here it would find Debian's), as links to everything
# else on this machine's PATH.
portable_path() {
  local dir=$work/path d f n IFS=:
  mkdir -p "$dir"
  for d in $PATH; do
    [ -d "$d" ] || continue
    for f in "$d"/*; do
      n=${f##*/}
      case $n in
        flex|flex++|lex|bison|yacc|llvm-config*|pkg-config|pkgconf|*-pkg-config|h5cc|h5pcc|cmake) continue ;;
      esac
      [ -x "$f" ] && [ ! -e "$dir/$n" ] && ln -s "$f" "$dir/$n"
    done
  done
  echo "$dir"
}

# configure BUILD meson-args...: the portable build (a release build, as bench/train_bench.sh's)
configure() {
  local b=$1; shift
  local opts=(--buildtype=release -Dllvm=disabled -Dhdf5=disabled -Dparsers=pregenerated "$@")
  if [ -f "$b/build.ninja" ]; then
    meson configure "$b" "${opts[@]}" && ninja -C "$b" build.ninja >/dev/null
  else
    meson setup "$b" "${opts[@]}"
  fi
}

# run_tests BUILD meson-test-args...: in parallel, failures' logs printed
run_tests() { local b=$1; shift; meson test -C "$b" --print-errorlogs --num-processes "$(nproc)" "$@"; }

# the tests meson knows, one name a line ("jscc:suite / name" -> "name")
registered_tests() { meson test -C "$1" --list 2>/dev/null | sed -n 's/^[^ ]* \/ //p'; }

# gpu_tests BUILD: codegen/test_cuda and runtime/test_device, each where it is registered
gpu_tests() {
  local b=$1 names=() t
  for t in codegen/test_cuda runtime/test_device; do
    if grep -qx "$t" "$work/tests"; then names+=("$t"); else echo "$t: not registered in $b (no CMocka, or not written yet)"; fi
  done
  ((${#names[@]})) || return 1
  run_tests "$b" "${names[@]}"
}

# other_tests BUILD: every registered test but those two
other_tests() {
  local b=$1 names
  mapfile -t names < <(grep -vx -e codegen/test_cuda -e runtime/test_device "$work/tests")
  ((${#names[@]})) || { echo "no tests registered"; return 1; }
  run_tests "$b" "${names[@]}"
}

# jscc_run MODEL BATCH: one `jscc train --device=cuda`; writes "seconds samples/s" to
# $work/jscc-MODEL-BATCH (the median of epochs 2..jepochs by train_seconds)
jscc_run() {
  local model=$1 b=$2 run=$work/run-$1-$2
  "$build/tools/jscc" train "examples/$model.jsc" --device=cuda --batch-size "$b" --lr 1e-3 \
    --max-epochs "$jepochs" --optimizer adam --seed 0 --quiet --out "$run" || return 1
  cat "$run/metrics.csv"
  grep -q "\"hash\": \"$data_hash\"" "$run/manifest.json" || { echo "jscc trained on other data than PyTorch gets"; return 1; }
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
           $1 >= 2 { print $c["train_seconds"], $c["samples_per_second"] }' "$run/metrics.csv" | sort -g |
    awk '{ s[NR] = $1; r[NR] = $2 } END {
      if (NR == 0) exit 1
      m = int((NR + 1) / 2)
      if (NR % 2) print s[m], r[m]; else print (s[m] + s[m + 1]) / 2, (r[m] + r[m + 1]) / 2 }' >"$work/jscc-$model-$b"
  [ -s "$work/jscc-$model-$b" ] || { echo "$run/metrics.csv has no epoch >= 2"; return 1; }
  echo "jscc $model batch $b: $(cat "$work/jscc-$model-$b") (s/epoch, samples/s)"
}

# torch_run MODEL torch_gpu.py-args...: the CSV into $work/torch-MODEL.csv, and onto the log
torch_run() {
  local model=$1 rc=0; shift
  "$python" bench/torch_gpu.py --model "$model" "$@" >"$work/torch-$model.csv" || rc=$?
  cat "$work/torch-$model.csv"
  return $rc
}

machine() {
  command -v nvidia-smi >/dev/null && nvidia-smi -L
  local t
  for t in gcc meson ninja nvcc; do
    printf '%s: ' "$t"
    if command -v "$t" >/dev/null; then "$t" --version 2>&1 | grep -m1 -E '[0-9]+\.[0-9]+'; else echo none; fi
  done
  printf 'python %s: ' "$python"
  "$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1 | tail -1
  for t in flex bison llvm-config pkg-config; do printf '%s: %s\n' "$t" "$(command -v "$t" || echo none)"; done
}

# sweep_run gpu_sweep-args...: the Lab 1 grid's table into $work/sweep.md, and onto the log
sweep_run() {
  local rc=0
  "$build/bench/gpu_sweep" "$@" >"$work/sweep.md" || rc=$?
  cat "$work/sweep.md"
  return $rc
}

export -f prepare configure run_tests registered_tests gpu_tests other_tests jscc_run torch_run machine sweep_run
export work build python jepochs root deps

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
echo "# bench/gpu.sh ($mode$( ((quick)) && echo ', --quick')) at jscc $commit, $(date -u '+%Y-%m-%d %H:%M UTC')," \
     "$(uname -m), $(nproc) CPUs; budget ${budget}s; log $log"

# ---- 1. the machine
step "machine" 60 --may-fail machine

# ---- 2..3. build and test
if [ "$mode" = cpu ]; then
  step "arguments: --bogus exits 2" 10 bash -c 'bash "$0" --bogus >/dev/null 2>&1; [ $? -eq 2 ]' "$root/bench/gpu.sh"
  step "arguments: --help" 10 bash -c 'bash "$0" --help | grep -q -- --cpu-check' "$root/bench/gpu.sh"
  step "arguments: torch_gpu.py --batch-sizes x exits 2" 60 bash -c \
    '"$python" bench/torch_gpu.py --data /dev/null --model jsc_tiny --batch-sizes x >/dev/null 2>&1; [ $? -eq 2 ]'
  step "prepare: the carried CMocka" 60 prepare
  STEP_PATH=$(portable_path)
  step "portable PATH: no flex, bison, llvm-config, pkg-config, cmake" 10 bash -c \
    '! command -v flex && ! command -v bison && ! command -v llvm-config && ! command -v pkg-config && ! command -v cmake && command -v gcc && command -v meson && command -v ninja'
  step "configure (CMocka hidden: -Dcmocka=disabled)" 120 configure "$build" -Dcmocka=disabled
  step "build" 900 ninja -C "$build" -j2
  step "tests without CMocka (CLI)" 900 run_tests "$build"
  if use_carried_cmocka; then
    step "configure (the carried CMocka: -Dcmocka=auto, CPATH, LIBRARY_PATH)" 120 bash -c \
      'configure "$0" -Dcmocka=auto && grep -q "Library cmocka found: YES" "$0/meson-logs/meson-log.txt"' "$build"
    step "build the unit tests" 900 ninja -C "$build" -j2
    step "unit tests (NVRTC compile tests: codegen/test_cuda; runtime/test_device skips)" 900 \
      run_tests "$build" --no-suite cli
  else
    step "the carried CMocka" 1 false
  fi
  unset STEP_PATH
else
  if use_carried_cmocka; then echo "CMocka: the carried copy in build-gpub-deps/cmocka"
  else echo "CMocka: none carried (bench/gpu.sh --prepare, then carry build-gpub-deps): no unit tests"; fi
  step "configure" 120 configure "$build" -Dcmocka=auto
  step "build" 300 ninja -C "$build" -j "$(nproc)"
  registered_tests "$build" >"$work/tests"
  step "GPU tests (codegen/test_cuda, runtime/test_device)" 180 gpu_tests "$build"
  cp "$build/meson-logs/testlog.txt" "$results/gpu_testlog.txt" 2>/dev/null
fi

# ---- 4. the data, once (also fills jscc's data cache for the runs below)
data_hash=none rows=0
if step "data: export_data export (the training split)" 180 bash -c \
     '"$0/bench/export_data" export "$1/train.bin" >"$1/export.txt"' "$build" "$work"; then
  read -r rows data_hash _ <"$work/export.txt"
  echo "training split: $rows rows, data hash $data_hash"
fi
export data_hash

# ---- 5. jscc on the GPU (expected to fail without one: --cpu-check)
may=(); [ "$mode" = cpu ] && may=(--may-fail)
for model in "${models[@]}"; do
  for b in "${batches[@]}"; do
    step "jscc $model batch $b" 120 "${may[@]}" jscc_run "$model" "$b"
  done
done

# ---- 6. the Lab 1 grid: groups of trials against one by one (--cpu-check: the arguments, then
# the plumbing, expected to fail without a GPU)
sweep_args=(--batches "$(IFS=,; echo "${batches[*]}")") sweep_what="5 lrs x 10 epochs"
if [ "$mode" = cpu ]; then
  step "arguments: gpu_sweep --lrs x exits 2" 10 bash -c '"$0/bench/gpu_sweep" --lrs x >/dev/null 2>&1; [ $? -eq 2 ]' "$build"
  sweep_args+=(--synth-n 20000 --epochs 1) sweep_what="5 lrs x 1 epoch on 20,000 jets"
fi
step "Lab 1 grid: jsc_tiny, $sweep_what, groups vs one by one" 200 "${may[@]}" sweep_run "${sweep_args[@]}"

# ---- 7. PyTorch on the same GPU (--cpu-check: on the CPU, 20,000 rows: the plumbing only)
csv=$(IFS=,; echo "${batches[*]}")
torch_args=(--epochs "${TORCH_EPOCHS:-1}")
[ "$mode" = cpu ] && torch_args+=(--device cpu --max-rows 20000)
for model in "${models[@]}"; do
  step "PyTorch $model" 300 torch_run "$model" --data "$work/train.bin" --batch-sizes "$csv" "${torch_args[@]}"
done

# ---- 8. the rest of the tests last, in the time left: CI runs them too, the benchmark only runs here
if [ "$mode" = gpu ]; then
  step "the other tests (unit and CLI)" 300 other_tests "$build"
  cp "$build/meson-logs/testlog.txt" "$results/gpu_other_testlog.txt" 2>/dev/null
fi

# ---- 9. the report
smi() {
  command -v nvidia-smi >/dev/null || { echo "nvidia-smi: not installed"; return 0; }
  timeout 30 nvidia-smi
  timeout 30 nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw,power.limit --format=csv
}
{
  echo "# GPU training benchmark: jscc --device=cuda against eager PyTorch"
  echo
  echo "\`bash bench/gpu.sh$( [ "$mode" = cpu ] && echo ' --cpu-check')$( ((quick)) && echo ' --quick')\` at jscc $commit," \
       "$(date -u '+%Y-%m-%d %H:%M UTC'), on $(command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || echo 'no GPU')," \
       "$(nproc) CPUs.  Training split: $rows rows of the bundled SYNTHETIC data (hash $data_hash)."
  [ "$mode" = cpu ] && echo "**--cpu-check: PyTorch ran on the CPU on 20,000 rows and jscc had no GPU: no number here is a measurement.**"
  torch_info=$(sed -n 's/^# //p' "$work/torch-${models[0]}.csv" 2>/dev/null | head -1)
  echo "PyTorch: ${torch_info:-did not run}."
  for model in "${models[@]}"; do
    echo
    echo "## $model"
    echo
    echo "| batch | jscc s/epoch | jscc samples/s | PyTorch s/epoch | ratio (PyTorch / jscc) |"
    echo "| ---: | ---: | ---: | ---: | ---: |"
    for b in "${batches[@]}"; do
      js=; sps=; ts=
      [ -s "$work/jscc-$model-$b" ] && read -r js sps <"$work/jscc-$model-$b"
      ts=$(awk -F, -v b="$b" '$2 == b { print $3 }' "$work/torch-$model.csv" 2>/dev/null)
      awk -v b="$b" -v js="$js" -v sps="$sps" -v ts="$ts" -v tb="$target_batch" -v tr="$target_ratio" 'BEGIN {
        jcol = js == "" ? "failed" : sprintf("%.4f", js)
        scol = sps == "" ? "" : sprintf("%.0f", sps)
        tcol = ts == "" ? "failed" : sprintf("%.4f", ts)
        r = ""
        if (js != "" && ts != "" && js > 0) {
          r = sprintf("%.1fx", ts / js)
          if (b == tb) r = r sprintf(" (target >= %dx: %s)", tr, ts / js >= tr ? "met" : "MISSED")
        }
        printf "| %d | %s | %s | %s | %s |\n", b, jcol, scol, tcol, r }'
    done
  done
  echo
  echo "Targets at batch $target_batch: jscc >= ${target_ratio}x PyTorch for both models (in the tables);" \
       "jsc_tiny epoch < $target_tiny_ms ms: $(
         if [ -s "$work/jscc-jsc_tiny-$target_batch" ]; then
           awk -v t="$target_tiny_ms" '{ printf "%.1f ms, %s", $1 * 1000, $1 * 1000 < t ? "met" : "MISSED" }' "$work/jscc-jsc_tiny-$target_batch"
         else echo "no number"; fi)."
  echo
  echo "jscc s/epoch: the median of epochs 2..$jepochs of \`metrics.csv\`'s train_seconds (\`jscc train MODEL --device=cuda" \
       "--max-epochs $jepochs --batch-size B --lr 1e-3 --optimizer adam --seed 0\`; the 1st epoch includes compiling the kernels)." \
       "PyTorch s/epoch: bench/torch_gpu.py, one epoch (TORCH_EPOCHS=${TORCH_EPOCHS:-1}: the median) after a 20-step warm-up," \
       "same architecture, Adam lr 1e-3, eager, the data as CUDA tensors, a slicing loop over a shuffled index on the GPU," \
       "torch.cuda.synchronize() around the timed epoch.  The same rows on both sides (bench/export_data; jscc's manifest.json hash checked)."
  echo
  echo "## Lab 1 grid: a group of trials per launch against one by one"
  echo
  if [ -s "$work/sweep.md" ]; then cat "$work/sweep.md"; else echo "(did not run)"; fi
  echo
  echo "bench/gpu_sweep: per batch size, the 5 learning rates (seed 0) as one group (\`rt_dev_open_group\`: one launch" \
       "per epoch and one per validation for all trials, a thread block per trial) and then one by one (an engine each," \
       "as \`jscc train --device=cuda\` runs); seconds for every epoch of every trial (training, validation, shuffles and" \
       "transfers; compiling apart), \"equal\": trials whose final model and accuracies agree to the bit on both paths."
  echo
  echo "## Steps"
  echo
  echo "| step | result | seconds |"
  echo "| --- | --- | ---: |"
  printf '%s\n' "${steps[@]}"
  echo
  echo "## nvidia-smi"
  echo
  echo '```'
  smi 2>&1
  echo '```'
} >"$report"
echo
cat "$report"
echo
echo "written to $report (the log: $log)"
exec >&- 2>&-
wait "$tee_pid" 2>/dev/null   # the log complete before the device tool collects $OUT
exit $((failed ? 1 : 0))

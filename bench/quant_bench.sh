#!/usr/bin/env bash
# bench/quant_bench.sh [--quick] — quantization: accuracy of post-training quantization (PTQ)
# and quantization-aware training (QAT) at 8, 6 and 4 bits, and the QAT step's cost.
#
# For jsc_tiny and jsc_big on the bundled synthetic JSC data (release build in build-bench/):
#   float  `jscc train MODEL` (batch 256, Adam lr 1e-3, cosine, EPOCHS epochs, seed 0), then
#          `jscc test` of its best checkpoint on the test split;
#   PTQ    the float checkpoint evaluated quantized: `jscc test --passes=quantize{...}`;
#   QAT    `jscc train --passes=quantize{...}` from the same initial weights and settings (the
#          fused JIT kernels fake-quantize forward, straight-through backward), then `jscc test`
#          quantized.
# Quantization: every node jscc can quantize (Linear, ReLU, BatchNorm1d in its folded form),
# fixed point int8 [8,4], int6 [6,3], int4 [4,2] (MASE's default frac_width = width // 2) for
# data_in, weight and bias: the integer-only configuration (spec/quant.md).
# Step time: the median training seconds per epoch (metrics.csv, epochs 2..) of the float and
# the int8 QAT run, as a whole-epoch view; and, for the target (a QAT step at most 1.5x a
# float step), bench/qat_step: the fused training step alone, float and int8 QAT alternating
# in one process, the best of 9 rounds of 2000 steps each (robust to a shared machine's load).
# Writes one markdown table to stdout and to bench/results/quant_DATE.md.  --quick: 3 epochs.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=10
suffix=""
for a in "$@"; do
  case $a in
    --quick) epochs=3; suffix=-quick ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "quant_bench.sh: unknown option '$a' (--quick, --help)" >&2; exit 2 ;;
  esac
done
bash scripts/deps.sh >/dev/null
[ -d build-bench ] || meson setup build-bench --buildtype=release >/dev/null
ninja -C build-bench tools/jscc bench/qat_step >/dev/null
jscc=build-bench/tools/jscc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=bench/results/quant_$(date +%Y-%m-%d)$suffix.md
mkdir -p bench/results

q() { # width frac -> the quantize pipeline: every quantizable op (BatchNorm1d named, since
  # `default` leaves it in float, as MASE's does)
  local c="name=integer, data_in_width=$1, data_in_frac_width=$2, weight_width=$1, weight_frac_width=$2, bias_width=$1, bias_frac_width=$2"
  echo "quantize{by=type, default={$c}, batch_norm1d={$c}}"
}
acc() { awk '/^test accuracy/ {printf "%.2f", 100 * $3}'; }
median_train() { # metrics.csv -> the median train_seconds of epochs 2..
  python3 - "$1" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
t = [float(r["train_seconds"]) for r in rows[1:]] or [float(r["train_seconds"]) for r in rows]
print(f"{statistics.median(t):.4f}")
PY
}
common=(--batch-size 256 --lr 1e-3 --max-epochs "$epochs" --seed 0 --cache-dir "$tmp/cache" --quiet --engine jit)

{
  echo "# Quantization: PTQ and QAT accuracy, QAT step time ($(date +%Y-%m-%d), $epochs epochs, synthetic JSC data)"
  echo
  echo "Command: \`bash bench/quant_bench.sh$([ -n "$suffix" ] && echo " --quick")\`; machine: $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)."
  echo
  echo "| model | float | int8 PTQ | int8 QAT | int6 PTQ | int6 QAT | int4 PTQ | int4 QAT | float s/epoch | int8 QAT s/epoch | QAT / float |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
} | tee "$out"
for model in jsc_tiny jsc_big; do
  m=examples/$model.jsc
  "$jscc" train "$m" "${common[@]}" --out "$tmp/$model-float" >/dev/null
  fl=$("$jscc" test "$m" --ckpt "$tmp/$model-float/best.safetensors" --cache-dir "$tmp/cache" | acc)
  tf=$(median_train "$tmp/$model-float/metrics.csv")
  row="| $model | $fl"
  for wf in "8 4" "6 3" "4 2"; do
    set -- $wf
    pipe=$(q "$1" "$2")
    ptq=$("$jscc" test "$m" --ckpt "$tmp/$model-float/best.safetensors" --passes="$pipe" --cache-dir "$tmp/cache" | acc)
    "$jscc" train "$m" "${common[@]}" --passes="$pipe" --out "$tmp/$model-qat$1" >/dev/null
    qat=$("$jscc" test "$m" --ckpt "$tmp/$model-qat$1/best.safetensors" --passes="$pipe" --cache-dir "$tmp/cache" | acc)
    row="$row | $ptq | $qat"
  done
  tq=$(median_train "$tmp/$model-qat8/metrics.csv")
  ratio=$(python3 -c "print(f'{$tq / $tf:.2f}x')")
  echo "$row | $tf | $tq | $ratio |" | tee -a "$out"
done
echo | tee -a "$out"
echo "Accuracies are test-split percentages; PTQ quantizes the float run's best checkpoint, QAT trains quantized from the same seed." | tee -a "$out"
echo | tee -a "$out"
echo "Training step alone (\`build-bench/bench/qat_step\`, batch 256, best of 9 rounds of 2000 steps):" | tee -a "$out"
echo | tee -a "$out"
build-bench/bench/qat_step | tee -a "$out"

#!/usr/bin/env bash
# bench/hw_bench.sh [--quick] [--models M1,M2] [--synth-n N] — `jscc emit` on the JSC models at
# 8, 6 and 4 bits: accuracy, yosys resources, latency, iCE40 Fmax.
#
# For jsc_tiny, jsc_big and the hls4ml 16-64-32-32-5 MLP (examples/hls4ml_jsc.jsc), on the
# bundled synthetic data (release build in build-bench/):
#   1. float training: `jscc train MODEL --max-epochs 10` (--quick: 3);
#   2. for each width W in 8, 6, 4: quantization-aware fine-tuning from the float checkpoint,
#      `jscc train MODEL --passes=quantize{every op: integer, W bits} --init FLOAT --max-epochs 3`
#      (--quick: 1), so the 4-bit points are QAT's, not post-training quantization's;
#   3. `jscc emit MODEL --ckpt QAT --passes=... --verify --samples 2000 --sim verilator --synth xilinx,ice40`:
#      the test accuracy of the integer program (what the hardware computes), the check in
#      Verilator (a design that disagrees fails the bench), yosys synth_xilinx LUTs, FFs, DSPs
#      and carry cells, the latency in cycles (one register stage per linear layer), and
#      nextpnr-ice40's Fmax where the design fits an iCE40; beside them, cg_hw_estimate's LUTs.
# Writes bench/results/hw_DATE.md (hw_DATE-quick.md), with the published points for
# comparison; --synth-n N (a small synthetic data set, for trying the script) prints the
# report without writing it; --keep DIR keeps the runs and emit directories there (DIR/MODEL-eW:
# what bench/hw_calibrate.sh --emit refits the estimate on, and what `jscc report` shows), and
# a later run with the same --keep reuses every design already finished there; --widths W,...
# picks the widths (default 8,6,4).  iCE40 synthesis and placement run where the estimate says
# the design can fit the largest part (hx8k, 7,680 LUTs); bigger designs get synth_xilinx only.
# Installs what is missing (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
synth_n=""
keep=""
widths=(8 6 4)
models=(jsc_tiny jsc_big hls4ml_jsc)
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --models) [ $# -ge 2 ] || { echo "hw_bench.sh: --models needs a value" >&2; exit 2; }
              IFS=, read -r -a models <<<"$2"; shift ;;
    --synth-n) [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "hw_bench.sh: --synth-n needs a number" >&2; exit 2; }
               synth_n=$2; shift ;;
    --widths) [[ ${2:-} =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "hw_bench.sh: --widths needs W,W,..." >&2; exit 2; }
              IFS=, read -r -a widths <<<"$2"; shift ;;
    --keep) [ $# -ge 2 ] || { echo "hw_bench.sh: --keep needs a directory" >&2; exit 2; }
            keep=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "hw_bench.sh: unknown option '$1' (--quick, --models, --widths, --synth-n, --keep, --help)" >&2; exit 2 ;;
  esac
  shift
done

bash scripts/deps.sh
[ -d build-bench ] || meson setup build-bench -Dbuildtype=release >/dev/null
ninja -C build-bench tools/jscc >/dev/null
jscc=build-bench/tools/jscc
if [ -n "$keep" ]; then
  mkdir -p "$keep"; work=$(cd "$keep" && pwd)
else
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fi
data=(); [ -z "$synth_n" ] || data=(--synth-n "$synth_n" --cache-dir "$work/cache")
epochs=10; qat_epochs=3
[ $quick = 0 ] || { epochs=3; qat_epochs=1; }
fmt() { # every quantizable op at W bits: data W/2 fractional bits, weights W-2 (BatchNorm1d
  # named: `default` leaves it in float, as MASE's does)
  local c="name=integer, data_in_width=$1, data_in_frac_width=$(($1 / 2)), weight_width=$1, weight_frac_width=$(($1 - 2)), bias_width=$1, bias_frac_width=$(($1 / 2))"
  echo "quantize{by=type, default={$c}, batch_norm1d={$c}}"
}
num() { grep -oE "\"$1\": *[-0-9.e]+" "$2" | head -1 | sed 's/.*: *//'; }
# the N-th number of the `total` (or `estimate`) row after the "synth FAMILY" line
synth_col() { awk -v fam="synth $1" -v row="$2" -v col="$3" '
  index($0, fam) == 1 { on = 1; next } on && $1 == row { print $(col + 1); exit }' "$4"; }

rows=()
for m in "${models[@]}"; do
  if [ ! -s "$work/$m-float/best.safetensors" ]; then
    echo "== $m: float training ($epochs epochs)"
    rm -rf "$work/$m-float"
    "$jscc" train examples/$m.jsc --max-epochs $epochs "${data[@]}" --out "$work/$m-float" --quiet >/dev/null
  fi
  for w in "${widths[@]}"; do
    out=$work/$m-e$w
    fresh=0
    if [ ! -s "$out/emit.json" ] || ! grep -q '"synth": {"xilinx"' "$out/emit.json"; then
      echo "== $m int$w: QAT ($qat_epochs epochs), emit, verify, synthesize"
      rm -rf "$work/$m-q$w"
      "$jscc" train examples/$m.jsc --passes="$(fmt $w)" --init "$work/$m-float/best.safetensors" \
        --max-epochs $qat_epochs "${data[@]}" --out "$work/$m-q$w" --quiet >/dev/null
      fresh=1
    fi
    # the estimate alone (milliseconds): the est. LUT column, and iCE40 only where the design
    # can fit an hx8k
    "$jscc" emit examples/$m.jsc --ckpt "$work/$m-q$w/best.safetensors" --passes="$(fmt $w)" "${data[@]}" \
      --out "$work/$m-est$w" >/dev/null 2>&1 || { echo "hw_bench.sh: jscc emit failed for $m int$w" >&2; exit 1; }
    est=$(grep -oE '"estimate_xilinx": \{"lut": [0-9]+' "$work/$m-est$w/emit.json" | head -1 | grep -oE '[0-9]+$')
    ice=$(grep -oE '"estimate_ice40": \{"lut": [0-9]+' "$work/$m-est$w/emit.json" | head -1 | grep -oE '[0-9]+$')
    fam=xilinx
    [ "$ice" -le 6900 ] && fam=xilinx,ice40
    if [ $fresh = 1 ]; then
      "$jscc" emit examples/$m.jsc --ckpt "$work/$m-q$w/best.safetensors" --passes="$(fmt $w)" "${data[@]}" \
        --out "$out" --verify --samples 2000 --sim verilator --synth $fam >"$out.log" 2>&1 ||
        { cat "$out.log"; echo "hw_bench.sh: jscc emit failed for $m int$w" >&2; exit 1; }
    fi
    grep -qE '^verify verilator: [0-9]+ samples agree' "$out.log" ||
      { cat "$out.log"; echo "hw_bench.sh: $m int$w: not verified in Verilator" >&2; exit 1; }
    acc=$(num test_accuracy "$out/emit.json")
    lat=$(num latency_cycles "$out/emit.json")
    fmax=$(grep -oE 'Fmax [0-9.]+ MHz, latency [0-9.]+ ns' "$out.log" | head -1 || true)
    part=$(grep -oE 'nextpnr-ice40 on [a-z0-9-]+' "$out.log" | sed 's/.* on //' || true)
    ice_lut=$(synth_col ice40 total 1 "$out.log")
    row="| $m | int$w | $(printf '%.4f' "$acc") | $(synth_col xilinx total 1 "$out.log") | $(synth_col xilinx total 2 "$out.log")"
    row+=" | $(synth_col xilinx total 3 "$out.log") | $(synth_col xilinx total 4 "$out.log") | $est"
    row+=" | $lat | ${ice_lut:-not run (est. $ice)} | ${part:-does not fit} | ${fmax:--} |"
    rows+=("$row")
    echo "$row"
  done
done

report() {
  echo "# jscc emit: hardware from the JSC models ($(date -u +%Y-%m-%d))"
  echo
  echo "Command: \`bash bench/hw_bench.sh${1:+ $1}\` on $(nproc) cores, $(yosys -V 2>/dev/null | head -1), $(nextpnr-ice40 --version 2>&1 | head -1)."
  echo "Float training $epochs epochs, then QAT $qat_epochs epochs per width from the float checkpoint; every design"
  echo "checked bit for bit in Verilator on 2000 test rows.  **Accuracy is on jscc's synthetic stand-in for the JSC"
  echo "data, and resources are yosys' mapping (synth_xilinx for 7-series, synth_ice40), not Vivado's**: the"
  echo "published points below are on the real data set and Vivado, so compare orders of magnitude, not digits."
  echo
  echo "| model | width | test acc | LUT (xc7) | FF | DSP | CARRY4 | est. LUT | latency (cycles) | iCE40 LUT | iCE40 part | iCE40 Fmax / latency |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Published points (real data, Vivado): LogicNets JSC-S 232 LUTs at 68.8 %, JSC-M 14,576 LUTs at 71.5 %,"
  echo "JSC-L 38,925 LUTs at 72.6 % (Vivado 2019.2); hls4ml's 16-64-32-32-5 at ap_fixed<16,6> (Duarte et al. 2018)."
}
if [ -n "$synth_n" ]; then report; exit 0; fi
mkdir -p bench/results
f=bench/results/hw_$(date -u +%Y-%m-%d)$([ $quick = 0 ] || echo -quick).md
report "$([ $quick = 0 ] || echo --quick)" >"$f"
cat "$f"
echo "written to $f"

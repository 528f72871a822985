#!/usr/bin/env bash
# bench/search_bench.sh [--quick] [--trials N] [--epochs E] [--jobs J] [--synth-n N] — a
# quantization search with `jscc search`: TPE against random sampling under the same budget.
#
# jsc_big is trained in float (10 epochs, seed 0; --quick: 3), then searched twice with
# examples/configs/search_jsc_big.toml — per-layer activation and weight widths 2..8 bits
# and their fractional bits for the four Linear layers (28 parameters), every trial scored
# by QAT (E = 2 epochs of fine-tuning from the float checkpoint; --quick: 1), objectives
# accuracy (max) and MASE's average bit width (min) — once with TPE and once with random
# sampling, N = 50 trials each (--quick: 16), J = 2 trials at once, seed 0, on the bundled
# synthetic data (release build in build-bench/).  Reports each search's wall time, its
# Pareto front and the front's hypervolume (from the same worst point, accuracy 0 and 32
# bits, so the two compare; spec/search.md §6), and the published JSC points beside them.
# Target: TPE's hypervolume above random's (a missed target prints MISSED; only a failed run
# exits non-zero).  Writes bench/results/search_DATE.md (search_DATE-quick.md); --synth-n N
# (a small synthetic data set, for trying the script) prints the report without writing it.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 trials=50 epochs=2 float_epochs=10 jobs=2 synth_n="" opt="" suffix=""
while (($#)); do
  case $1 in
    --quick) quick=1 trials=16 epochs=1 float_epochs=3 opt=" --quick" suffix=-quick ;;
    --trials) [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "search_bench.sh: --trials needs a number" >&2; exit 2; }
              trials=$2; opt="$opt --trials $2"; shift ;;
    --epochs) [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "search_bench.sh: --epochs needs a number" >&2; exit 2; }
              epochs=$2; opt="$opt --epochs $2"; shift ;;
    --jobs) [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "search_bench.sh: --jobs needs a number" >&2; exit 2; }
            jobs=$2; opt="$opt --jobs $2"; shift ;;
    --synth-n) [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "search_bench.sh: --synth-n needs a number" >&2; exit 2; }
               synth_n=$2; opt="$opt --synth-n $2"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "search_bench.sh: unknown option '$1' (--quick, --trials, --epochs, --jobs, --synth-n, --help)" >&2; exit 2 ;;
  esac
  shift
done
synth=(); [ -z "$synth_n" ] || synth=(--synth-n "$synth_n")
config=examples/configs/search_jsc_big.toml

# ---- packages and the release build
bash scripts/deps.sh bc
[ -d build-bench ] || meson setup build-bench --buildtype=release -Dtests=false >/dev/null
ninja -C build-bench build.ninja >/dev/null
ninja -C build-bench tools/jscc >/dev/null
jscc=$PWD/build-bench/tools/jscc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
fail() { echo "search_bench.sh: $*" >&2; exit 1; }
now() { date +%s.%N; }

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
stamp=$(date +%Y-%m-%d)

# ---- the float model
echo "float jsc_big, $float_epochs epochs ..."
"$jscc" train examples/jsc_big.jsc --max-epochs "$float_epochs" --seed 0 "${synth[@]}" --out "$work/float" --quiet \
  >"$work/float.log" 2>&1 || { cat "$work/float.log"; fail "training the float model failed"; }
ckpt=$work/float/best.safetensors

# ---- the two searches, one after the other
declare -A wall hv front_n scored
for s in tpe random; do
  echo "search with $s: $trials trials, QAT $epochs epochs each, $jobs at once ..."
  t0=$(now)
  "$jscc" search examples/jsc_big.jsc --ckpt "$ckpt" --config "$config" --sampler $s --n-trials "$trials" \
    --epochs "$epochs" --jobs "$jobs" --seed 0 --quiet "${synth[@]}" --out "$work/$s" >"$work/$s.log" 2>&1 ||
    { tail -20 "$work/$s.log"; fail "the $s search failed"; }
  wall[$s]=$(echo "$(now) - $t0" | bc -l)
  hv[$s]=$(sed -n 's/^hypervolume: \([0-9.e+-]*\) .*/\1/p' "$work/$s.log")
  [ -n "${hv[$s]}" ] || hv[$s]=0
  front_n[$s]=$(($(wc -l <"$work/$s/front.csv") - 1))
  scored[$s]=$(grep -c ',ok,' "$work/$s/results.csv" || true)
done
float_acc=$(grep -o '"float": {"accuracy": [0-9.]*' "$work/tpe/search.json" | grep -o '[0-9.]*$')
float_test=$(grep -o '"test_acc": [0-9.]*' "$work/tpe/search.json" | tail -1 | grep -o '[0-9.]*$')
win=$(echo "${hv[tpe]} > ${hv[random]}" | bc -l)
verdict="TPE's hypervolume is larger"; [ "$win" = 1 ] || verdict="MISSED: random's hypervolume is not smaller"

# ---- the report
front_table() { # DIR: accuracy, bits, test accuracy, BOPs, LUTs of each front point, best accuracy first
  echo "| trial | val accuracy | average bits | test accuracy | BOPs | est. LUTs |"
  echo "|---:|---:|---:|---:|---:|---:|"
  tail -n +2 "$1/front.csv" | while IFS=, read -r t acc bits test _; do
    row=$(awk -F, -v t="$t" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } NR > 1 && $1 == t { print $c["bops"] "," $c["lut_estimate"] }' "$1/results.csv")
    printf '| %s | %.4f | %.2f | %.4f | %.0f | %.0f |\n' "$t" "$acc" "$bits" "$test" "${row%%,*}" "${row##*,}"
  done
}
md=$work/report.md
{
  echo "# jscc search: TPE against random sampling ($stamp)"
  echo
  echo "\`bash bench/search_bench.sh$opt\` on $cpu, commit $commit; load average at the start: $load_start."
  echo "Data: the bundled **synthetic** JSC stand-in$([ -z "$synth_n" ] || echo " ($synth_n jets)"), not the real data set: the accuracies below are not comparable with published ones, only with each other."
  echo
  echo "jsc_big trained in float for $float_epochs epochs (validation accuracy $float_acc, test $float_test), then searched"
  echo "with \`$config\` (28 parameters: each Linear's activation and weight widths 2..8 and their fractional bits),"
  echo "$trials trials per sampler, each scored by QAT ($epochs epochs of fine-tuning from the float checkpoint), $jobs at once, seed 0."
  echo
  echo "| sampler | wall time | trials ok | front points | hypervolume (acc x bits, from (0, 32)) |"
  echo "|---|---:|---:|---:|---:|"
  for s in tpe random; do printf '| %s | %.1f s | %s | %s | %s |\n' "$s" "${wall[$s]}" "${scored[$s]}" "${front_n[$s]}" "${hv[$s]}"; done
  echo
  echo "**$verdict** (target: TPE above random under the same budget)."
  for s in tpe random; do
    echo
    echo "### The $s front"
    echo
    front_table "$work/$s"
  done
  echo
  echo "### Published JSC points (real data; for orientation only)"
  echo
  echo "These come from other papers, measured on the real 830,000-jet data set with their own models and tools,"
  echo "so they are not comparable with the synthetic-data figures above:"
  echo
  echo "- LogicNets (Umuroglu et al. 2020; Vivado 2019.2): JSC-S 232 LUTs at 68.8 %, JSC-M 14,576 LUTs at 71.5 %, JSC-L 38,925 LUTs at 72.6 % test accuracy."
  echo "- hls4ml (Duarte et al. 2018): the 16-64-32-32-5 MLP at ap_fixed<16,6> keeps its float accuracy, about 75 % (76.1–76.7 % trained longer); with 6-bit weights and activations and 75 % pruning, 75.4–76.1 %."
  echo "- HGQ (Sun et al. 2024) trains per-weight bit widths on the same task; its paper reports accuracies near the data's ceiling (about 76.5–77 %) with far fewer resources than hls4ml's uniform quantization.  Its exact LUT counts are not quoted here (the paper could not be consulted from this machine)."
  echo
  echo "jscc's own LUT column is its analytic estimate (spec/quant.md §7), not a synthesis; \`jscc emit --synth\` counts a front point's LUTs with yosys."
} >"$md"
cat "$md"
if [ -z "$synth_n" ]; then
  mkdir -p bench/results
  cp "$md" "bench/results/search_$stamp$suffix.md"
  echo "written: bench/results/search_$stamp$suffix.md"
fi

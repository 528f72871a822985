#!/usr/bin/env bash
# emit.sh JSCC — `jscc emit`: jsc_tiny from a short training run, quantized int8, emitted as
# Verilog and C and verified bit for bit in Verilator, Icarus and the C compiler (each where
# installed: a missing one must be reported as not checked, never as agreement); every
# example model the integer lowering takes at 8, 6 and 4 bits in C, and in Icarus or Verilator
# (jsc_big at every width, the hls4ml MLP at 4 bits); a checkpoint whose every weight saturates (the interval widths must hold the
# extreme sums); a combinational design; yosys on jsc_tiny for both families; bad input and
# usage.  Run from the source root.
set -u
jscc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
small=(--synth-n 5000 --cache-dir "$tmp/cache")

. "$(dirname "$0")/lib.sh"
check() {
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name"; head -30 "$tmp/out" "$tmp/err"; fi
}
have() { "$jscc" --version | grep -q " $1=yes"; }
fmt() { # fmt W F: every quantizable op at W bits, F fractional (weights keep W-2 of them);
  # BatchNorm1d is named, since `default` leaves it in float as MASE's does
  local c="name=integer, data_in_width=$1, data_in_frac_width=$2, weight_width=$1, weight_frac_width=$(($1 - 2)), bias_width=$1, bias_frac_width=$2"
  echo "quantize{by=type, default={$c}, batch_norm1d={$c}}"
}
# verified SIM N: the line for SIM says N samples agree, or (tool missing) not checked
verified() {
  local tool=$1
  [ "$1" = icarus ] && tool=iverilog
  [ "$1" = c ] && { grep -qE "^verify c: $2 samples agree bit for bit" "$tmp/out"; return; }
  if have "$tool"; then grep -qE "^verify $1: $2 samples agree bit for bit" "$tmp/out"
  else grep -qE "^verify $1: not checked: $tool is not installed" "$tmp/out"; fi
}

expect train 0 "" -- train examples/jsc_tiny.jsc --max-epochs 1 "${small[@]}" --engine ref --out "$tmp/run" --quiet
ckpt=$tmp/run/best.safetensors

# ---- jsc_tiny int8: both targets, every simulator ----
expect tiny 0 "wrote $tmp/t/JSC_Tiny.v" -- emit examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$(fmt 8 4)" "${small[@]}" \
  --target verilog,c --out "$tmp/t" --verify --samples 400
check tiny-verilator verified verilator 400
check tiny-icarus verified icarus 400
check tiny-c verified c 400
check tiny-files bash -c "cd '$tmp/t' && [ -s JSC_Tiny.v ] && [ -s JSC_Tiny.c ] && [ -s program.txt ] && [ -s emit.json ]"
check tiny-json grep -q '"verify": \[{"sim": "verilator"' "$tmp/t/emit.json"
check tiny-accuracy grep -qE '^model JSC_Tiny: integer program .* test accuracy 0\.[0-9]{4} \(1000 rows\)' "$tmp/out"
# the same accuracy as jscc test on the integer engine
expect tiny-test 0 "" -- test examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$(fmt 8 4)" "${small[@]}" --engine int-c --json
acc=$(grep -o '"micro_accuracy": *[0-9.]*' "$tmp/out" | head -1 | grep -o '[0-9.]*$')
check tiny-same-accuracy grep -qE "\"test_accuracy\": ${acc:-x}[,0-9]" "$tmp/t/emit.json"

# ---- a combinational design (pipeline 0) agrees too ----
expect comb 0 "latency 0 cycles" -- emit examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$(fmt 8 4)" "${small[@]}" \
  --out "$tmp/comb" --pipeline 0 --verify --samples 200
check comb-icarus verified icarus 200

# ---- frac_width above width (MASE's reading: fixed[4,6] and the like) agrees too ----
expect frac-above-width 0 "" -- emit examples/jsc_tiny.jsc --ckpt "$ckpt" --config test/data/mase/frac_above_width.toml \
  "${small[@]}" --target verilog,c --out "$tmp/fw" --verify --samples 200 --sim icarus
check frac-above-width-icarus verified icarus 200
check frac-above-width-c verified c 200

# ---- every example model the integer lowering takes, at 8, 6 and 4 bits ----
# C for every one; Icarus for the small ones; Verilator for jsc_big at every width and for the
# hls4ml MLP at 4 bits (Icarus needs a tenth of a second per row of the bigger designs).
for m in jsc_tiny jsc_toy jsc_big jsc_s jsc_trt hls4ml_jsc; do
  "$jscc" train examples/$m.jsc --max-epochs 1 "${small[@]}" --engine ref --out "$tmp/r-$m" --quiet >/dev/null 2>&1 ||
    { fail=$((fail + 1)); echo "FAIL train $m"; continue; }
  for wf in "8 4" "6 3" "4 2"; do
    set -- $wf
    sim=(--target verilog,c --sim icarus); s=icarus
    case $m in jsc_big) sim=(--target verilog,c --sim verilator); s=verilator ;;
               hls4ml_jsc) sim=(--target c); s=""; [ $1 = 4 ] && { sim=(--target verilog,c --sim verilator); s=verilator; } ;; esac
    expect "$m-int$1" 0 "" -- emit examples/$m.jsc --ckpt "$tmp/r-$m/best.safetensors" --passes="$(fmt $1 $2)" "${small[@]}" \
      "${sim[@]}" --out "$tmp/e-$m-$1" --verify --samples 100
    check "$m-int$1-c" verified c 100
    [ -z "$s" ] || check "$m-int$1-$s" verified $s 100
  done
done

# ---- saturating weights: every code at its format's extreme ----
python3 - "$tmp/sat.safetensors" <<'EOF'
import json, struct, sys
shapes = {"seq_blocks.0.weight": [16], "seq_blocks.0.bias": [16], "seq_blocks.0.running_mean": [16],
          "seq_blocks.0.running_var": [16], "seq_blocks.2.weight": [5, 16], "seq_blocks.2.bias": [5]}
vals = {"seq_blocks.0.weight": 1e3, "seq_blocks.0.bias": -1e3, "seq_blocks.0.running_mean": 0.0,
        "seq_blocks.0.running_var": 1e-4, "seq_blocks.2.bias": 1e3}
head, blob = {}, b""
for k, s in shapes.items():
    n = 1
    for d in s: n *= d
    if k == "seq_blocks.2.weight": data = [1e3 if i % 3 else -1e3 for i in range(n)]
    else: data = [vals[k]] * n
    raw = struct.pack("<%df" % n, *data)
    head[k] = {"dtype": "F32", "shape": s, "data_offsets": [len(blob), len(blob) + len(raw)]}
    blob += raw
head["seq_blocks.0.num_batches_tracked"] = {"dtype": "I64", "shape": [], "data_offsets": [len(blob), len(blob) + 8]}
blob += struct.pack("<q", 0)
h = json.dumps(head).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + blob)
EOF
expect saturate 0 "" -- emit examples/jsc_tiny.jsc --ckpt "$tmp/sat.safetensors" --passes="$(fmt 8 4)" "${small[@]}" \
  --target verilog,c --out "$tmp/sat" --verify --samples 300
check saturate-icarus verified icarus 300
check saturate-c verified c 300
check saturate-program grep -q 'matvec' "$tmp/sat/program.txt"

# ---- yosys: resource counts for both families ----
if have yosys; then
  expect synth 0 "synth xilinx (yosys synth_xilinx" -- emit examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$(fmt 8 4)" \
    "${small[@]}" --out "$tmp/s" --synth xilinx,ice40
  check synth-table grep -qE '^  total +[1-9][0-9]* +[0-9]+ +[0-9]+ +[0-9]+' "$tmp/out"
  check synth-json grep -qE '"synth": \{"xilinx": \{"total": \{"lut": [1-9]' "$tmp/s/emit.json"
  have nextpnr-ice40 && check synth-fmax grep -qE 'nextpnr-ice40 on [a-z0-9-]+: Fmax [0-9.]+ MHz' "$tmp/out"
else
  expect no-yosys 0 "synth xilinx: not run: yosys is not installed" -- emit examples/jsc_tiny.jsc --ckpt "$ckpt" \
    --passes="$(fmt 8 4)" "${small[@]}" --out "$tmp/s" --synth xilinx
fi

# ---- bad input and usage ----
expect float-model 1 "quantized" -- emit examples/jsc_tiny.jsc --ckpt "$ckpt" --passes='quantize{by=type, default={name=NA}}' \
  "${small[@]}" --out "$tmp/bad1"
expect no-ckpt 2 "--ckpt" -- emit examples/jsc_tiny.jsc --passes="$(fmt 8 4)"
expect no-quant 2 "--passes" -- emit examples/jsc_tiny.jsc --ckpt "$ckpt"
expect bad-target 2 "did you mean 'verilog'" -- emit examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$(fmt 8 4)" --target verilgo
expect bad-sim 2 "unknown simulator 'vcs'" -- emit examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$(fmt 8 4)" --sim vcs
expect bad-family 2 "unknown synthesis family" -- emit examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$(fmt 8 4)" --synth altera
expect synth-c 2 "--synth needs --target verilog" -- emit examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$(fmt 8 4)" --target c --synth xilinx
expect bad-pipeline 2 "--pipeline" -- emit examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$(fmt 8 4)" --pipeline -1
expect deep-pipeline 1 "so at most pipeline 8" -- emit examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$(fmt 8 4)" "${small[@]}" --pipeline 64 --out "$tmp/deep"
expect bad-top 2 "not a Verilog or C identifier" -- emit examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$(fmt 8 4)" "${small[@]}" --top '9 x' --out "$tmp/badtop"
expect bad-ckpt 1 "" -- emit examples/jsc_tiny.jsc --ckpt examples/jsc_tiny.jsc --passes="$(fmt 8 4)" "${small[@]}" --out "$tmp/bad2"
# a model with two outputs loads (emit never builds the training graph): the checkpoint is what is wrong
expect two-outputs 1 "missing tensor" -- emit examples/all_ops.jsc --ckpt "$ckpt" --passes="$(fmt 8 4)" "${small[@]}" --out "$tmp/bad3"
expect help 0 "usage: jscc emit" -- emit --help

echo "emit: $pass passed, $fail failed"
[ $fail -eq 0 ]

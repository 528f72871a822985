#!/usr/bin/env bash
# diff.sh JSCC — `jscc diff` on examples/jsc_tiny.jsc: a checkpoint from a short `jscc train`
# on 5000 synthetic jets (reference engine: the same bytes on every machine), quantized int8
# by --passes; every must-agree pair agrees (exit 0); a 24-bit format whose float32 fake
# quantization is inexact disagrees with --tol 0 (exit 1) and agrees with a looser --tol; an
# injected fault names the node, row and feature (exit 1); a model that is not integer-only
# skips the integer pairs; usage errors and bad input exit 2.  Run from the source root.
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

# every quantizable node: `default` (MASE's ops: Linear, ReLU) and BatchNorm1d, named
c8='name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, weight_frac_width=4, bias_width=8, bias_frac_width=4'
c24='name=integer, data_in_width=24, data_in_frac_width=16, weight_width=24, weight_frac_width=20, bias_width=24, bias_frac_width=20'
int8="quantize{by=type, default={$c8}, batch_norm1d={$c8}}"
int24="quantize{by=type, default={$c24}, batch_norm1d={$c24}}"

expect train 0 "" -- train examples/jsc_tiny.jsc --max-epochs 1 "${small[@]}" --engine ref --out "$tmp/run" --quiet
ckpt=$tmp/run/best.safetensors

# int8: everything agrees, exactly.
expect agree 0 "result: every must-agree pair agrees" -- diff examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$int8" "${small[@]}" --samples 500
check ref-vs-int grep -qE '^fake-quant ref vs integer C: +agree \(4 nodes and the logits x 500 rows, max \|diff\| 0\)' "$tmp/out"
check f32-exact grep -qF 'intervals: float32 fake quantization is exact for every integer node' "$tmp/out"
# frac_width above width, as MASE accepts it (fixed[4,6]: a range below 1): every executor agrees
expect frac-above-width 0 "result: every must-agree pair agrees" -- diff examples/jsc_tiny.jsc --ckpt "$ckpt" --config test/data/mase/frac_above_width.toml "${small[@]}" --samples 500
check frac-above-width-int grep -qE '^fake-quant ref vs integer C: +agree' "$tmp/out"
check quant-error grep -qE '^  seq_blocks_2 +max \|diff\| [0-9.e-]+ +mean \|diff\| ' "$tmp/out"
check data-line bash -c "head -1 '$tmp/out' | grep -q '^data: SYNTHETIC.*test split, first 500 rows'"
jit=0
grep -qE '^integer C vs integer jit: +agree' "$tmp/out" && jit=1
if [ $jit = 1 ]; then
  check fq-jit-exact grep -qE '^fake-quant ref vs fq-jit: +agree \(logits x 500 rows, exact' "$tmp/out"
else
  check no-llvm-skips grep -qE '^integer C vs integer jit: +skipped \(.*LLVM' "$tmp/out"
fi

# A fault in the integer C executor's trace: the first differing node and element, both values.
expect inject 1 "DIFFER at node seq_blocks_2 (row 0, feature 0)" -- diff examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$int8" "${small[@]}" --inject seq_blocks_2
check inject-ref grep -qE '^fake-quant ref vs integer C: +DIFFER at node seq_blocks_2 \(row 0, feature 0\): fake-quant ref [-0-9.e]+, integer C [-0-9.e]+ \(\|diff\| 0.0039.*1 element in 1 tensor differ' "$tmp/out"
check inject-result grep -qx 'result: a must-agree pair DIFFERS' "$tmp/out"
[ $jit = 1 ] && check inject-jit grep -qE '^integer C vs integer jit: +DIFFER at node seq_blocks_2 \(row 0, feature 0\)' "$tmp/out"

# 24-bit formats: float32 is not exact (the intervals say so) and the fq-jit rounds
# differently from the double reference in the last bit: a real disagreement at --tol 0,
# agreement within 1e-4.  The integer pairs stay exact.
if [ $jit = 1 ]; then
  expect inexact-tol0 1 "fake-quant ref vs fq-jit:      DIFFER at the logits" -- diff examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$int24" "${small[@]}" --samples 1000 --tol 0
  check inexact-intervals grep -qE '^intervals: float32 fake quantization is not exact for 2 nodes' "$tmp/out"
  check inexact-int-exact grep -qE '^integer C vs integer jit: +agree' "$tmp/out"
  expect inexact-tol 0 "float32 not exact everywhere, max |diff|" -- diff examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$int24" "${small[@]}" --samples 1000 --tol 1e-4
fi

# Not integer-only: the integer pairs are skipped with the lowering's reason.
expect float-model 0 "skipped (integer-only inference: node 'seq_blocks_0': batch_norm1d is not quantized" -- diff examples/jsc_tiny.jsc --ckpt "$ckpt" "${small[@]}"
check float-model-intervals grep -qx 'intervals: no node is quantized with integer formats' "$tmp/out"

# Usage errors and bad input: exit 2.
expect no-ckpt 2 "--ckpt FILE is required" -- diff examples/jsc_tiny.jsc
expect no-model 2 "expected a model file" -- diff --ckpt "$ckpt"
expect bad-samples 2 "--samples" -- diff examples/jsc_tiny.jsc --ckpt "$ckpt" --samples 0
expect bad-split 2 "unknown split 'tset'" -- diff examples/jsc_tiny.jsc --ckpt "$ckpt" --split tset
expect bad-tol 2 "--tol" -- diff examples/jsc_tiny.jsc --ckpt "$ckpt" --tol -1
expect unknown-option 2 "unknown option '--frobnicate'" -- diff examples/jsc_tiny.jsc --ckpt "$ckpt" --frobnicate
expect bad-passes 2 "--passes" -- diff examples/jsc_tiny.jsc --ckpt "$ckpt" --passes='quantise'
expect missing-ckpt 2 "no/such.safetensors" -- diff examples/jsc_tiny.jsc --ckpt no/such.safetensors "${small[@]}"
expect wrong-ckpt 2 "expected shape" -- diff examples/jsc_big.jsc --ckpt "$ckpt" "${small[@]}"
expect inject-unknown 2 "--inject: the integer program has no node 'nope'" -- diff examples/jsc_tiny.jsc --ckpt "$ckpt" --passes="$int8" "${small[@]}" --inject nope
expect diff-help 0 "usage: jscc diff" -- diff --help

echo "diff.sh: $pass passed, $fail failed"
[ $fail -eq 0 ]

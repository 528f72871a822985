#!/usr/bin/env bash
# quant.sh JSCC [--update] — Lab 2 of the lab report from the command line, on committed
# checkpoints (test/data/ckpt/jsc_{tiny,big}_lab.safetensors: 3 epochs on 20,000 synthetic
# jets):
#   - `jscc transform` with MASE's own TOML (examples/configs/jsc_tiny_by_type.toml): the
#     summary and histogram tables against golden files (the lab report's tables), the output
#     directory (model.ir that parses back, quantized.safetensors, report.txt, the CSVs);
#   - the transformed model evaluates as the pipeline applied on the fly (PTQ);
#   - report-weights and the profile/report-meta analysis (golden);
#   - quantization-aware training through the JIT and the reference executor alike;
#   - bad configs and usage errors name the key and exit 1 or 2.
# --update rewrites the golden files.  Run from the source root.
set -u
jscc=$1
update=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
. "$(dirname "$0")/lib.sh"
small=(--synth-n 5000 --cache-dir "$tmp/cache")
cfg=examples/configs/jsc_tiny_by_type.toml
C8='name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, weight_frac_width=4, bias_width=8, bias_frac_width=4'
INT8="quantize{by=type, default={$C8}, batch_norm1d={$C8}}" # BatchNorm1d named: default leaves it float

check() {
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name"; fi
}
# golden NAME FILE: FILE against test/golden/NAME (or rewrite it with --update)
golden() {
  if [ "$update" = --update ]; then cp "$2" "test/golden/$1"; pass=$((pass + 1)); return; fi
  if diff -u "test/golden/$1" "$2" >"$tmp/diff"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL golden $1"; head -40 "$tmp/diff"; fi
}

for m in jsc_tiny jsc_big; do
  ck=test/data/ckpt/${m}_lab.safetensors
  expect "transform-$m" 0 "Quantized graph histogram:" -- transform "examples/$m.jsc" --ckpt "$ck" --config "$cfg" --out "$tmp/$m"
  grep -v '^wrote ' "$tmp/out" >"$tmp/$m.transform"
  golden "$m.transform.txt" "$tmp/$m.transform"
  for f in model.ir quantized.safetensors report.txt quantize_table.csv quantize_histogram.csv; do
    check "transform-$m-$f" test -s "$tmp/$m/$f"
  done
  check "transform-$m-report-equals-stdout" cmp -s "$tmp/$m/report.txt" "$tmp/$m.transform"
  expect "transform-$m-ir-parses" 0 "" -- "$tmp/$m/model.ir" --passes=verify
  check "transform-$m-ir-linear-integer" grep -q 'quant linear_integer{name="integer", data_in_width=8' "$tmp/$m/model.ir"
  # the transformed model and checkpoint evaluate as the pipeline applied on the fly
  expect "test-$m-transformed" 0 "test accuracy" -- test "$tmp/$m/model.ir" --ckpt "$tmp/$m/quantized.safetensors" "${small[@]}"
  grep '^test ' "$tmp/out" >"$tmp/a"
  expect "test-$m-ptq" 0 "test accuracy" -- test "examples/$m.jsc" --ckpt "$ck" --config "$cfg" "${small[@]}"
  grep '^test ' "$tmp/out" >"$tmp/b"
  check "test-$m-same" cmp -s "$tmp/a" "$tmp/b"
  expect "test-$m-ref" 0 "test accuracy" -- test "examples/$m.jsc" --ckpt "$ck" --config "$cfg" "${small[@]}" --engine ref
  # the loss sums in float (JIT) or double (reference): the 6th digit may differ; the
  # predictions, hence accuracy and confusion matrix, may not
  grep -A8 '^test accuracy' "$tmp/out" >"$tmp/c"
  grep -A8 '^test accuracy' "$tmp/b" >/dev/null
  expect "test-$m-ptq-again" 0 "test accuracy" -- test "examples/$m.jsc" --ckpt "$ck" --config "$cfg" "${small[@]}"
  grep -A8 '^test accuracy' "$tmp/out" >"$tmp/d"
  check "test-$m-jit-equals-ref" cmp -s "$tmp/c" "$tmp/d"
done

# the codes and formats in the quantized checkpoint
if command -v python3 >/dev/null; then
  check ckpt-codes python3 - "$tmp/jsc_tiny/quantized.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
assert h["__metadata__"]["quant.seq_blocks.2.weight"] == "fixed[8,4]", h["__metadata__"]
e = h["quant.seq_blocks.2.weight"]
assert e["dtype"] == "I32" and e["shape"] == [5, 16], e
w = h["seq_blocks.2.weight"]
lo, hi = w["data_offsets"]
vals = struct.unpack("<80f", b[8 + n + lo:8 + n + hi])
lo, hi = e["data_offsets"]
codes = struct.unpack("<80i", b[8 + n + lo:8 + n + hi])
assert all(v == c / 16 for v, c in zip(vals, codes)), "dequantized floats are not codes / 2^4"
assert all(-128 <= c <= 127 for c in codes)
PY
fi

# Lab 2 question 6: float and quantized weights side by side
expect report-weights 0 "seq_blocks_2" -- examples/jsc_tiny.jsc --ckpt test/data/ckpt/jsc_tiny_lab.safetensors \
  --passes="quantize{by=type, linear={name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, weight_frac_width=4, bias_width=8, bias_frac_width=4}},report-weights{max_rows=2}"
golden jsc_tiny.report_weights.txt "$tmp/out"
# Lab 2 question 2: profile statistics and the node metadata table.  The golden file comes
# from the reference executor (double, the same on every machine); the JIT's statistics
# (float) must print the same in the summary lines (6 digits).
expect profile 0 "range_quantile" -- examples/jsc_tiny.jsc --ckpt test/data/ckpt/jsc_tiny_lab.safetensors \
  --config examples/configs/profile.toml --profile-engine ref "${small[@]}"
golden jsc_tiny.profile.txt "$tmp/out"
grep -E '^seq_blocks' "$tmp/out" >"$tmp/prof_ref"
expect profile-jit 0 "range_quantile" -- examples/jsc_tiny.jsc --ckpt test/data/ckpt/jsc_tiny_lab.safetensors \
  --config examples/configs/profile.toml "${small[@]}"
grep -E '^seq_blocks' "$tmp/out" >"$tmp/prof_jit"
check profile-jit-equals-ref cmp -s "$tmp/prof_ref" "$tmp/prof_jit"
check profile-lines test -s "$tmp/prof_ref"

# quantization-aware training: the fused kernels and the reference executor agree (a build
# without LLVM has the reference executor only)
expect qat-ref 0 "epoch 2/2" -- train examples/jsc_tiny.jsc --passes="$INT8" --max-epochs 2 "${small[@]}" --engine ref --out "$tmp/qr"
grep -o 'train loss [0-9.]* acc [0-9.]*  val loss [0-9.]* acc [0-9.]*' "$tmp/out" >"$tmp/qr.txt"
check qat-lines test -s "$tmp/qr.txt"
if "$jscc" --version | grep -q 'llvm=yes'; then
  expect qat-jit 0 "epoch 2/2" -- train examples/jsc_tiny.jsc --passes="$INT8" --max-epochs 2 "${small[@]}" --engine jit --out "$tmp/qj"
  grep -o 'train loss [0-9.]* acc [0-9.]*  val loss [0-9.]* acc [0-9.]*' "$tmp/out" >"$tmp/qj.txt"
  check qat-jit-equals-ref cmp -s "$tmp/qj.txt" "$tmp/qr.txt"
fi

# integer-only inference lowers a no-op view and reshape, an Identity and parameter operands
# (test/models/int_noop.jsc): the integer engines predict what the reference does, row for row
expect noop-train 0 "" -- train test/models/int_noop.jsc --max-epochs 1 "${small[@]}" --engine ref --out "$tmp/noop" --quiet
for e in ref int int-c; do
  expect "noop-test-$e" 0 "test accuracy" -- test test/models/int_noop.jsc --ckpt "$tmp/noop/best.safetensors" --passes="$INT8" "${small[@]}" --engine "$e"
  grep -A13 '^test accuracy' "$tmp/out" >"$tmp/noop-$e"
done
check noop-int-equals-ref cmp -s "$tmp/noop-ref" "$tmp/noop-int"
check noop-int-c-equals-ref cmp -s "$tmp/noop-ref" "$tmp/noop-int-c"
# every number format trains on the fused kernels: the plan renders it, so `train` never
# falls back to the reference executor
if "$jscc" --version | grep -q 'llvm=yes'; then
  formats=(
    'minifloat_ieee {name=minifloat_ieee, data_in_width=8, data_in_exponent_width=4, weight_width=8, weight_exponent_width=4, bias_width=8, bias_exponent_width=4, data_out_width=8, data_out_exponent_width=4}'
    'minifloat_denorm {name=minifloat_denorm, data_in_width=8, data_in_exponent_width=4, weight_width=8, weight_exponent_width=4, bias_width=8, bias_exponent_width=4}'
    'log {name=log, data_in_width=8, weight_width=8, bias_width=8}'
    'block_fp {name=block_fp, data_in_width=8, data_in_exponent_width=8, data_in_block_size=4, weight_width=8, weight_exponent_width=8, weight_block_size=4, bias_width=8, bias_exponent_width=8}'
    'binary {name=binary, data_in_bipolar=true, weight_bipolar=true, bias_bipolar=false}'
    'ternary {name=ternary, weight_scaling_factor=true, weight_median=true, bias_mean=true}'
    'block_minifloat {name=block_minifloat, data_in_width=8, data_in_exponent_width=4, data_in_exponent_bias_width=8, data_in_block_size=4, weight_width=8, weight_exponent_width=4, weight_exponent_bias_width=8, bias_width=8, bias_exponent_width=4, bias_exponent_bias_width=8}'
    'block_log {name=block_log, data_in_width=8, data_in_exponent_bias_width=8, data_in_block_size=4, weight_width=8, weight_exponent_bias_width=8, bias_width=8, bias_exponent_bias_width=8}'
  )
  for f in "${formats[@]}"; do
    expect "qat-jit-${f%% *}" 0 "engine: jit" -- train examples/jsc_tiny.jsc --passes="quantize{by=type, default=${f#* }}" \
      --max-epochs 1 "${small[@]}" --out "$tmp/q-${f%% *}"
  done
fi

# bad configs name the key (exit 1); usage errors exit 2
printf '[passes.quantize]\nby = "type"\n[passes.quantize.linear.config]\nname = "integer"\ndata_in_width = 8\nweight_width = 0\n' >"$tmp/w0.toml"
expect cfg-width0 1 "weight_width: 0 is not a width (1..32)" -- examples/jsc_tiny.jsc --config "$tmp/w0.toml"
printf '[passes.quantize]\nby = "type"\n[passes.quantize.lienar.config]\nname = "integer"\n' >"$tmp/op.toml"
expect cfg-unknown-op 1 "'lienar' is not an op" -- examples/jsc_tiny.jsc --config "$tmp/op.toml"
printf '[passes.quantise]\nby = "type"\n' >"$tmp/pass.toml"
expect cfg-unknown-pass 1 "$tmp/pass.toml:1:9: error: passes.quantise: unknown pass 'quantise' (did you mean 'quantize'?)" -- examples/jsc_tiny.jsc --config "$tmp/pass.toml"
printf '[passes.quantize]\nby = "type"\n[passes.quantize.linear.config]\nname = "integer"\ndata_in_width = 8\nweight_width = 8\nweight_frac_width = 65\n' >"$tmp/fr.toml"
expect cfg-frac 1 "$tmp/fr.toml:7:1: error: quantize: linear.config: weight_frac_width: 65 is out of range (0..64)" -- examples/jsc_tiny.jsc --config "$tmp/fr.toml"
printf '[passes.quantize]\nby = "regex_name"\n[passes.quantize."seq_blocks_9.*".config]\nname = "integer"\ndata_in_width = 8\n' >"$tmp/re.toml"
expect cfg-regex-empty 1 "matches no quantizable node" -- examples/jsc_tiny.jsc --config "$tmp/re.toml"
# block_minifloat and block_log: MASE's keys, checked and named
expect cfg-bm-no-bias-width 1 "linear.config: missing key 'weight_exponent_bias_width'" -- examples/jsc_tiny.jsc \
  --passes='quantize{by=type, linear={name=block_minifloat, weight_width=8, weight_exponent_width=4}}'
expect cfg-bm-bias-width 1 "weight_exponent_bias_width: 17 is not in 1..16" -- examples/jsc_tiny.jsc \
  --passes='quantize{by=type, linear={name=block_minifloat, weight_width=8, weight_exponent_width=4, weight_exponent_bias_width=17}}'
expect cfg-bm-exp-width 1 "weight_exponent_width: 8 is not in 1..7 for weight_width 8" -- examples/jsc_tiny.jsc \
  --passes='quantize{by=type, linear={name=block_minifloat, weight_width=8, weight_exponent_width=8, weight_exponent_bias_width=8}}'
expect cfg-bl-unknown-key 1 "unknown key 'weight_exponent_width' for name=\"block_log\"" -- examples/jsc_tiny.jsc \
  --passes='quantize{by=type, linear={name=block_log, weight_width=8, weight_exponent_width=4, weight_exponent_bias_width=8}}'
expect cfg-bl-block-size 1 "weight_block_size: 0 is not in 1..65536" -- examples/jsc_tiny.jsc \
  --passes='quantize{by=type, linear={name=block_log, weight_width=8, weight_exponent_bias_width=8, weight_block_size=0}}'
expect cfg-bl-name 1 "unknown number format 'block_logg' (did you mean 'block_log'?)" -- examples/jsc_tiny.jsc \
  --passes='quantize{by=type, linear={name=block_logg, weight_width=8}}'
expect cfg-block-rows-activation 1 "data_in_block_size: a block of 2 rows would span samples" -- examples/jsc_tiny.jsc \
  --passes='quantize{by=type, linear={name=block_fp, data_in_width=8, data_in_exponent_width=4, data_in_block_size=[2, 4], weight_width=8, weight_exponent_width=4}}'
expect cfg-block-shape 1 "weight_block_size must be an integer or a block shape [rows, columns]" -- examples/jsc_tiny.jsc \
  --passes='quantize{by=type, linear={name=block_fp, weight_width=8, weight_exponent_width=4, weight_block_size=[1, 2, 3]}}'
expect block-shape-weights 0 "weight_block_size=[2, 4]" -- examples/jsc_tiny.jsc --dump-ir \
  --passes='quantize{by=type, linear={name=block_fp, data_in_width=8, data_in_exponent_width=4, data_in_block_size=[1, 4], weight_width=8, weight_exponent_width=4, weight_block_size=[2, 4]}}'
cp "$tmp/out" "$tmp/bshape.ir"
expect block-shape-parses-back 0 "" -- "$tmp/bshape.ir" --passes=verify
printf 'passes = 3\n' >"$tmp/np.toml"
expect cfg-no-tables 1 "$tmp/np.toml:1:1: error: passes: the config has no passes" -- examples/jsc_tiny.jsc --config "$tmp/np.toml"
printf '[passes.quantize\n' >"$tmp/syn.toml"
expect cfg-syntax 1 "$tmp/syn.toml:1:" -- examples/jsc_tiny.jsc --config "$tmp/syn.toml"

# MASE's own configs, as MASE reads them (test/data/mase/; test_mase.c checks every node's format)
for c in by_type_module_style by_name_logicnets ternary_scaled; do
  expect "mase-$c" 0 "wrote $tmp/mase-$c/model.ir" -- transform examples/jsc_toy.jsc --config "test/data/mase/$c.toml" --out "$tmp/mase-$c"
done
expect mase-node-as-type 0 "test/data/mase/ternary_scaled.toml:35:18: warning: quantize: 'seq_blocks_1' names a node, not an op" -- transform examples/jsc_tiny.jsc --config test/data/mase/ternary_scaled.toml --out "$tmp/mase-ts"
expect mase-conv2d 0 "test/data/mase/by_type_cnn_shape.toml:23:18: warning: quantize: MASE's op 'conv2d' is not one of jscc's" -- examples/jsc_toy.jsc --config test/data/mase/by_type_cnn_shape.toml
if "$jscc" --version | grep -q 'pcre2=yes'; then # Python's regex dialect
  expect mase-by_regex_name 0 "wrote $tmp/mase-rx/model.ir" -- transform examples/jsc_toy.jsc --config test/data/mase/by_regex_name.toml --out "$tmp/mase-rx"
  check mase-regex-dialect grep -qF 'quant linear_integer{name="integer", data_in_width=6, data_in_frac_width=3, weight_width=6, weight_frac_width=3}' "$tmp/mase-rx/model.ir"
fi
expect mase-prune 1 "test/data/mase/bad/prune.toml:13:9: error: passes.prune: MASE's 'prune' pass is not available in jscc" -- examples/jsc_tiny.jsc --config test/data/mase/bad/prune.toml
printf '[passes.quantize]\nby = "type"\n[passes.quantize.linear.config]\nname = "integer"\nweight_width = 8\n[transform]\nstyle = "graf"\n' >"$tmp/style.toml"
expect cfg-style 1 "$tmp/style.toml:7:1: error: transform.style: MASE's styles are \"graph\" and \"module\"" -- transform examples/jsc_tiny.jsc --config "$tmp/style.toml" --out "$tmp/style"
printf '[passes.quantize]\nby = "type"\n[passes.quantize.default.config]\nname = "integer"\ndata_in_width = 8\nweight_width = 0\n' >"$tmp/dw0.toml"
expect cfg-default-located 1 "$tmp/dw0.toml:6:1: error: quantize: default.config (node 'seq_blocks_2'): weight_width: 0 is not a width (1..32)" -- examples/jsc_tiny.jsc --config "$tmp/dw0.toml"
if "$jscc" --version | grep -q 'pcre2=yes'; then
  printf '[passes.quantize]\nby = "regex_name"\n[passes.quantize."seq_blocks_(2".config]\nname = "integer"\nweight_width = 8\n' >"$tmp/rx.toml"
  expect cfg-regex-pcre2 1 "$tmp/rx.toml:3:18: error: quantize: by=regex_name entry 'seq_blocks_(2' is not a valid regular expression (Python's dialect, through PCRE2): missing closing parenthesis" -- examples/jsc_tiny.jsc --config "$tmp/rx.toml"
fi
expect both-pipelines 2 "--passes and --config both give a pipeline" -- examples/jsc_tiny.jsc --passes=shape --config "$cfg"
expect transform-no-pipeline 2 "give the pipeline with --passes=PIPELINE or --config FILE" -- transform examples/jsc_tiny.jsc
expect report-weights-no-ckpt 1 "report-weights needs weights" -- examples/jsc_tiny.jsc --passes="$INT8,report-weights"
expect transform-bad-ckpt 1 "seq_blocks.2.weight: expected shape [5, 16]" -- transform examples/jsc_tiny.jsc --ckpt test/data/ckpt/jsc_big_lab.safetensors --passes="$INT8" --out "$tmp/bad"
check transform-bad-ckpt-no-output test ! -e "$tmp/bad/model.ir"

[ "$update" = --update ] && echo "golden files updated"
echo "quant: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/usr/bin/env bash
# eval_any.sh JSCC — jscc train/test/diff/transform on models beyond one [B,16] -> [B,5]
# Linear stack: examples/jsc_conv.jsc (Conv1d, BatchNorm1d over [B,C,L], a view and a
# flatten) and test/models/two_heads.jsc (a model with two outputs, evaluated one at a time
# with --output NAME).  Checkpoints come from short trainings on 3000 synthetic jets.  Where
# the JIT cannot take a model, --engine auto runs the reference executor and says why on its
# engine line.  jsc_conv quantized to int8 everywhere also runs integer-only, bit-exact with
# the fake-quant reference.  Run from the source root.
set -u
jscc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
small=(--synth-n 3000 --cache-dir "$tmp/cache")

. "$(dirname "$0")/lib.sh"
check() {
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name"; head -30 "$tmp/out" "$tmp/err"; fi
}
loss_of() { grep -E '^test loss' "$1" | awk '{print $3}'; }
c8='name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, weight_frac_width=4, bias_width=8, bias_frac_width=4'
int8="quantize{by=type, default={$c8}}"
intall="quantize{by=type, default={$c8}, batch_norm1d={$c8}}"   # every node: integer-only

# ---- Conv1d ----
expect conv-train 0 "best val_loss" -- train examples/jsc_conv.jsc --max-epochs 2 "${small[@]}" --out "$tmp/conv" --quiet
ckpt=$tmp/conv/best.safetensors
expect conv-test 0 "test rows            600" -- test examples/jsc_conv.jsc --ckpt "$ckpt" "${small[@]}"
auto=$(loss_of "$tmp/out")
check conv-test-loss test -n "$auto"
expect conv-test-ref 0 "engine: ref" -- test examples/jsc_conv.jsc --ckpt "$ckpt" "${small[@]}" --engine ref
check conv-auto-vs-ref test "$auto" = "$(loss_of "$tmp/out")"
expect conv-test-json 0 '"rows": 600' -- test examples/jsc_conv.jsc --ckpt "$ckpt" "${small[@]}" --json
check conv-json-stdout bash -c "head -c1 '$tmp/out' | grep -q '{'"
expect conv-diff 0 "result: every must-agree pair agrees" -- diff examples/jsc_conv.jsc --ckpt "$ckpt" "${small[@]}" --samples 100
check conv-diff-error grep -qE '^  seq_blocks_0 +max \|diff\| 0 ' "$tmp/out"
expect conv-diff-int8 0 "result: every must-agree pair agrees" -- diff examples/jsc_conv.jsc --ckpt "$ckpt" --passes="$int8" "${small[@]}" --samples 100
check conv-diff-int8-error grep -qE '^  seq_blocks_0 +max \|diff\| 0\.[0-9]*[1-9]' "$tmp/out"
expect conv-diff-int 0 "fake-quant ref vs integer C:   agree (8 nodes and the logits x 100 rows, max |diff| 0)" -- diff examples/jsc_conv.jsc --ckpt "$ckpt" --passes="$intall" "${small[@]}" --samples 100
check conv-diff-int-jit grep -qE '^integer C vs integer jit: +(agree \(8 nodes|skipped \(jscc was built without LLVM)' "$tmp/out"
expect conv-test-int 0 "engine: int" -- test examples/jsc_conv.jsc --ckpt "$ckpt" --passes="$intall" "${small[@]}" --engine int-c
intloss=$(loss_of "$tmp/out")
expect conv-test-fq 0 "test rows" -- test examples/jsc_conv.jsc --ckpt "$ckpt" --passes="$intall" "${small[@]}" --engine ref
check conv-int-vs-fq test "$intloss" = "$(loss_of "$tmp/out")"
expect conv-transform 0 "wrote $tmp/tr/quantized.safetensors" -- transform examples/jsc_conv.jsc --ckpt "$ckpt" --passes="$int8,profile" "${small[@]}" --out "$tmp/tr"
expect conv-test-transformed 0 "test rows            600" -- test "$tmp/tr/model.ir" --ckpt "$ckpt" "${small[@]}"
check conv-quantized-differs test "$auto" != "$(loss_of "$tmp/out")"

# ---- two outputs ----
m2=(test/models/two_heads.jsc --model JSC_TwoHeads)
expect two-train 0 "best val_loss" -- train test/models/two_heads.jsc --model JSC_OneHead --max-epochs 1 "${small[@]}" --out "$tmp/two" --quiet
ckpt=$tmp/two/best.safetensors
expect two-train-refused 1 "grad: the model must return one logits tensor" -- train "${m2[@]}" --max-epochs 1 "${small[@]}" --out "$tmp/two2" --quiet
expect two-test 0 "note: model JSC_TwoHeads has 2 outputs ('head', 'tanh'); evaluating the first, 'head' (choose another with --output NAME)" -- test "${m2[@]}" --ckpt "$ckpt" "${small[@]}"
check two-note-on-stderr grep -qF "note: model JSC_TwoHeads has 2 outputs" "$tmp/err"
first=$(loss_of "$tmp/out")
expect two-test-head 0 "test rows" -- test "${m2[@]}" --ckpt "$ckpt" "${small[@]}" --output head
check two-head-is-first test "$first" = "$(loss_of "$tmp/out")"
check two-head-no-note bash -c "! grep -q 'note:' '$tmp/err'"
expect two-test-onehead 0 "test rows" -- test test/models/two_heads.jsc --model JSC_OneHead --ckpt "$ckpt" "${small[@]}"
check two-head-is-onehead test "$first" = "$(loss_of "$tmp/out")"
expect two-test-tanh 0 "test rows" -- test "${m2[@]}" --ckpt "$ckpt" "${small[@]}" --output tanh
check two-tanh-differs test "$first" != "$(loss_of "$tmp/out")"
expect two-test-tanh-ref 0 "engine: ref" -- test "${m2[@]}" --ckpt "$ckpt" "${small[@]}" --output tanh --engine ref
expect two-test-bad 1 "--output nope: model JSC_TwoHeads has no output 'nope' (its outputs: 'head', 'tanh')" -- test "${m2[@]}" --ckpt "$ckpt" "${small[@]}" --output nope
expect one-test-bad 1 "(its output: 'head')" -- test test/models/two_heads.jsc --model JSC_OneHead --ckpt "$ckpt" "${small[@]}" --output aux
expect two-diff 0 "result: every must-agree pair agrees" -- diff "${m2[@]}" --ckpt "$ckpt" "${small[@]}" --samples 100 --output tanh
check two-diff-tanh grep -qE '^  tanh +max \|diff\| 0 ' "$tmp/out"
check two-diff-no-head bash -c "! grep -qE '^  head ' '$tmp/out'"
expect two-diff-int8 0 "result: every must-agree pair agrees" -- diff "${m2[@]}" --ckpt "$ckpt" --passes="$int8" "${small[@]}" --samples 100
expect two-diff-bad 2 "has no output 'nope'" -- diff "${m2[@]}" --ckpt "$ckpt" "${small[@]}" --output nope
expect two-transform 0 "wrote $tmp/tr2/model.ir" -- transform "${m2[@]}" --ckpt "$ckpt" --passes="$int8,profile" "${small[@]}" --out "$tmp/tr2"
expect two-test-transformed 0 "evaluating the first, 'head'" -- test "$tmp/tr2/model.ir" --ckpt "$ckpt" "${small[@]}"

echo "eval_any: $pass passed, $fail failed"
[ $fail -eq 0 ]

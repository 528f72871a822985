#!/usr/bin/env bash
# fx_compare.sh JSCC — the examples against PyTorch: for each test/golden/fx/NAME.fx (written
# by scripts/fx_reference.py from torch.fx.symbolic_trace and state_dict()), jscc's graph of
# examples/NAME.jsc must have the same nodes (op, name, target, in order), the same
# state_dict (names, shapes, dtypes, in order) and the same trainable parameter count.
set -u
jscc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
for ref in test/golden/fx/*.fx; do
  name=$(basename "$ref" .fx)
  {
    "$jscc" "examples/$name.jsc" --dump-ir=text >"$tmp/$name.ir"
    sed -nE 's/^ *%([^ ]+) : .* = ([a-z_]+)\[target=([^]]+)\].*$/node \2 \1 \3/p' "$tmp/$name.ir"
    sed -nE 's/^ *(param|buffer) ([^ ]+) : ([a-z0-9]+)\[([^]]*)\] = .*$/\1 \2 [\4] \3/p' "$tmp/$name.ir" |
      sed -E -e 's/ f32$/ float32/' -e 's/ f64$/ float64/' -e 's/ i64$/ int64/' -e 's/ i32$/ int32/'
    "$jscc" "examples/$name.jsc" --passes=params | sed -nE 's/^Total trainable parameters: ([0-9]+)$/trainable \1/p'
  } >"$tmp/$name.fx" 2>&1
  if diff -u <(grep -v '^#' "$ref") "$tmp/$name.fx" >"$tmp/diff"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "FAIL $name differs from PyTorch (- torch.fx, + jscc):"; cat "$tmp/diff"
  fi
done
echo "fx: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]

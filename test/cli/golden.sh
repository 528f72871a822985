#!/usr/bin/env bash
# golden.sh JSCC [--update] — golden tests of every dump of every example, and round trips.
#
# For each examples/NAME.jsc, each view below is compared with test/golden/NAME.VIEW:
#   ir        --dump-ir=text            (the IR text, which must parse back)
#   table     --dump-ir=table
#   dot       --dump-ir=dot
#   json      --dump-ir=json
#   meta.ir   --passes=shape,metadata --dump-ir=text
#   report    --passes=report-graph
#   params    --passes=params
#   grad.ir   --passes=grad --dump-ir=text   (the training graph; every model that returns logits)
#   plan      train --dump-plan               (the JIT's fusion plans, 16 rows per vector; not
#             jsc_conv: the JIT does not lower BatchNorm1d over [B, C, L] yet)
# Round trips: print -> parse -> print is identical for the IR text of every example, for its
# metadata dump, and for every test/golden/*.ir file.  Run from the source root.
set -u
jscc=$1
update=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0; n=0

check() { # name expected-file actual-file
  n=$((n + 1))
  if [ "$update" = --update ]; then cp "$3" "$2"; return; fi
  if ! cmp -s "$2" "$3"; then
    fail=$((fail + 1)); echo "FAIL $1"; diff -u "$2" "$3" | head -40
  fi
}

run() { # out-file args...  (a failing jscc is a failing test)
  local out=$1; shift
  if ! "$jscc" "$@" >"$out" 2>"$tmp/err"; then
    echo "FAIL: jscc $*"; cat "$tmp/err"; fail=$((fail + 1)); : >"$out"
  elif grep -qE 'AddressSanitizer|runtime error:' "$tmp/err"; then
    echo "FAIL: sanitizer report from jscc $*"; cat "$tmp/err"; fail=$((fail + 1))
  fi
}

roundtrip() { # name ir-file
  n=$((n + 1))
  run "$tmp/rt1" "$2" --dump-ir=text
  if ! cmp -s "$2" "$tmp/rt1"; then
    fail=$((fail + 1)); echo "FAIL round trip $1"; diff -u "$2" "$tmp/rt1" | head -40
  fi
}

for src in examples/*.jsc; do
  name=$(basename "$src" .jsc)
  for view in text table dot json; do
    ext=$view; [ $view = text ] && ext=ir
    run "$tmp/$name.$ext" "$src" --dump-ir=$view
    check "$name.$ext" "test/golden/$name.$ext" "$tmp/$name.$ext"
  done
  run "$tmp/$name.meta.ir" "$src" --passes=shape,metadata --dump-ir=text
  check "$name.meta.ir" "test/golden/$name.meta.ir" "$tmp/$name.meta.ir"
  run "$tmp/$name.report" "$src" --passes=report-graph
  check "$name.report" "test/golden/$name.report" "$tmp/$name.report"
  run "$tmp/$name.params" "$src" --passes=params
  check "$name.params" "test/golden/$name.params" "$tmp/$name.params"
  roundtrip "$name.ir" "$tmp/$name.ir"
  roundtrip "$name.meta.ir" "$tmp/$name.meta.ir"
  if [ "$name" != all_ops ]; then   # all_ops returns a tuple: nothing to train
    run "$tmp/$name.grad.ir" "$src" --passes=grad --dump-ir=text
    check "$name.grad.ir" "test/golden/$name.grad.ir" "$tmp/$name.grad.ir"
    roundtrip "$name.grad.ir" "$tmp/$name.grad.ir"
    if [ "$name" != jsc_conv ]; then   # the JIT does not lower BatchNorm1d over [B, C, L] yet
      run "$tmp/$name.plan" train "$src" --dump-plan --vec 16
      check "$name.plan" "test/golden/$name.plan" "$tmp/$name.plan"
    fi
  fi
  if command -v dot >/dev/null; then
    n=$((n + 1))
    dot -Tsvg "$tmp/$name.dot" >/dev/null 2>"$tmp/doterr" || { fail=$((fail + 1)); echo "FAIL dot $name"; cat "$tmp/doterr"; }
  fi
done
for g in test/golden/*.ir; do roundtrip "$g" "$g"; done
[ "$update" = --update ] && echo "golden files updated"
echo "golden: $((n - fail)) passed, $fail failed"
[ $fail -eq 0 ]

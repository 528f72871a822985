#!/usr/bin/env bash
# cli.sh JSCC — the command line's behaviour: the issue's acceptance checks, exit codes,
# usage errors, -o, --dump-after, --model, stdin.  Run from the source root.
set -u
jscc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0

. "$(dirname "$0")/lib.sh"

# The issue's acceptance checks.
expect report-graph-tiny 0 "{'placeholder': 1, 'get_attr': 0, 'call_function': 0, 'call_method': 0, 'call_module': 4, 'output': 1}" -- examples/jsc_tiny.jsc --passes=report-graph
expect params-tiny 0 "Total trainable parameters: 117" -- examples/jsc_tiny.jsc --passes=params
expect params-big 0 "Total trainable parameters: 1397" -- examples/jsc_big.jsc --passes=params
expect fx-names 0 "%seq_blocks_3 : f32[B,5]" -- examples/jsc_tiny.jsc --passes=shape --dump-ir

# The README's main job (scripts/demo.sh) on every example.
for m in examples/*.jsc; do
  expect "main-job-$(basename "$m" .jsc)" 0 "Total trainable parameters:" -- "$m" --passes=shape,metadata,report-graph,params
done

# Usage errors: exit 2, with a useful message.
expect unknown-pass 2 "unknown pass 'shap'" -- examples/jsc_tiny.jsc --passes=shap
expect unknown-pass-lists 2 "report-graph" -- examples/jsc_tiny.jsc --passes=nosuchpass
expect unknown-option 2 "unknown option" -- --frobnicate examples/jsc_tiny.jsc
expect bad-dump-format 2 "unknown format 'svg'" -- examples/jsc_tiny.jsc --dump-ir=svg
expect no-input 2 "usage" --
expect two-inputs 2 "one input file" -- examples/jsc_tiny.jsc examples/jsc_big.jsc
expect dump-after-missing 2 "not in the pipeline" -- examples/jsc_tiny.jsc --passes=shape --dump-after=params
expect dump-after-no-passes 2 "needs --passes" -- examples/jsc_tiny.jsc --dump-after=all
# --dump-ir=dot runs shape inference itself: labels carry the shapes, a shape error is located.
expect dot-shapes 0 "seq_blocks.2: Linear(16, 5)\\n[B, 16] → [B, 5]" -- examples/jsc_tiny.jsc --dump-ir=dot
expect dot-shape-error 1 "sequential_width.jsc:9:9: error: net.2 (Linear(4, 5)) expects 4" -- test/bad/jsc/sequential_width.jsc --dump-ir=dot
# A dumped .ir edited by hand: the shape pass's error points at the node's line in the .ir,
# not at the loc(...) it carries from the .jsc, and comes once.
"$jscc" examples/jsc_tiny.jsc --dump-ir=text | sed 's/%x : f32\[B,16\]/%x : f32[B,15]/' >"$tmp/tampered.ir"
expect tampered-ir-shape 1 "tampered.ir:17:5: error: seq_blocks.0 (BatchNorm1d(16)) expects 16 features on dim 1, got f32[B,15]" -- "$tmp/tampered.ir" --passes=shape
if [ "$(grep -c ': error: ' "$tmp/err")" -ne 1 ] || grep -q 'jsc_tiny.jsc:.*error' "$tmp/err"; then
  fail=$((fail + 1)); echo "FAIL tampered-ir-once"; cat "$tmp/err"
else pass=$((pass + 1)); fi
expect unknown-model 2 "did you mean 'JSC_Tiny'" -- examples/jsc_tiny.jsc --model=JSC_Tiyn
expect bad-max-errors 2 "--max-errors" -- examples/jsc_tiny.jsc --max-errors=0
expect help 0 "usage: jscc" -- --help
expect version 0 "jscc " -- --version
expect list-passes 0 "report-graph" -- --list-passes

# Bad input: exit 1.
expect missing-file 1 "cannot open 'no/such.jsc'" -- no/such.jsc

# --dump-after shows the IR between passes, and the dump parses back.
expect dump-after 0 "# IR after pass 'shape'" -- examples/jsc_tiny.jsc --passes=shape,metadata --dump-after=shape
expect dump-after-all 0 "# IR after pass 'metadata'" -- examples/jsc_tiny.jsc --passes=shape,metadata --dump-after=all
"$jscc" examples/jsc_tiny.jsc --passes=shape,metadata --dump-after=shape >"$tmp/after.ir" 2>&1
expect dump-after-parses 0 "" -- "$tmp/after.ir" --passes=verify
expect model-select 0 "model JSC_Tiny" -- examples/jsc_tiny.jsc --model=JSC_Tiny

# -o writes the same bytes as stdout, and nothing at all when the run fails.
"$jscc" examples/jsc_big.jsc --dump-ir=json >"$tmp/stdout.json"
expect output-file 0 "" -- examples/jsc_big.jsc --dump-ir=json -o "$tmp/file.json"
if cmp -s "$tmp/stdout.json" "$tmp/file.json"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL -o differs from stdout"; fi
expect output-on-error 1 "" -- test/bad/jsc/unknown_module.jsc -o "$tmp/never.ir"
if [ -e "$tmp/never.ir" ] || ls "$tmp"/never.ir.tmp* >/dev/null 2>&1; then fail=$((fail + 1)); echo "FAIL -o left a file after an error"; else pass=$((pass + 1)); fi

# Report passes also write their report to file=..., and say so when they cannot.
expect report-file 0 "Network overview:" -- examples/jsc_tiny.jsc "--passes=report-graph{file=$tmp/report.txt}"
if cmp -s "$tmp/out" "$tmp/report.txt"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL report file differs from stdout"; fi
expect report-file-unwritable 1 "params: cannot write '/nonexistent/dir/p.txt': No such file or directory" -- examples/jsc_tiny.jsc "--passes=params{file=/nonexistent/dir/p.txt}"
# The kernel tuning and the profile engine are command-line options, checked as such.
expect vec-bad 2 "--vec: expected 4, 8 or 16, got '5'" -- train examples/jsc_tiny.jsc --vec 5
expect codegen-level-bad 2 "--llvm-codegen-level: expected 0 to 3, got '4'" -- train examples/jsc_tiny.jsc --llvm-codegen-level 4
expect profile-engine-bad 2 "--profile-engine: unknown engine 'gpu' (valid: auto, ref)" -- examples/jsc_tiny.jsc --profile-engine gpu
expect vec-plan 0 "4 rows per vector" -- train examples/jsc_tiny.jsc --dump-plan --vec 4
if "$jscc" --version | grep -q 'llvm=yes'; then
  expect llvm-timing 0 "llvm: render" -- train examples/jsc_tiny.jsc --dump-llvm --llvm-timing --llvm-codegen-level 1 --no-cache
fi
expect misspelt-command 2 "jscc: unknown command 'trian' (did you mean 'train'?)" -- trian examples/jsc_tiny.jsc
expect misspelt-search 2 "did you mean 'search'?" -- serch examples/jsc_tiny.jsc
expect not-a-command 1 "cannot open 'nonsense'" -- nonsense
expect output-unwritable 1 "cannot write '/nonexistent/dir/m.ir': No such file or directory" -- examples/jsc_tiny.jsc -o /nonexistent/dir/m.ir
expect bad-pass-option 2 "verbose" -- examples/jsc_tiny.jsc "--passes=dce{verbos=true}"

# Standard input, and -x to read IR text from it.
if "$jscc" - <examples/jsc_tiny.jsc >"$tmp/stdin.ir" 2>"$tmp/err" && "$jscc" -x ir - <"$tmp/stdin.ir" --passes=verify >/dev/null 2>>"$tmp/err"; then
  pass=$((pass + 1))
else
  fail=$((fail + 1)); echo "FAIL stdin"; cat "$tmp/err"
fi

echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]

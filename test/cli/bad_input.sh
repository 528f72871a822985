#!/usr/bin/env bash
# bad_input.sh JSCC FILE|DIR... — the bad-input corpus runner.
#
# Each file carries its expected diagnostics as comment lines
#   # expect: LINE:COL: error: MESSAGE-SUBSTRING
# jscc must exit with status 1, print every expected "FILE:LINE:COL: error: ..." line (the
# message matched as a substring) and no other error (one mistake, one error: no cascade),
# print no sanitizer report, and not crash or hang.
set -u
jscc=$1; shift
files=()
for a in "$@"; do
  if [ -d "$a" ]; then files+=("$a"/*.jsc "$a"/*.ir); else files+=("$a"); fi
done
fail=0; n=0
for f in "${files[@]}"; do
  [ -e "$f" ] || continue
  n=$((n + 1))
  case $f in *.ir) passes=verify ;; *) passes=shape ;; esac
  err=$(timeout 20 "$jscc" "$f" --passes=$passes 2>&1 >/dev/null)
  rc=$?
  why=""
  if [ $rc -eq 124 ]; then why="timed out"
  elif [ $rc -ne 1 ]; then why="exit status $rc, expected 1"
  fi
  if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' <<<"$err"; then why="sanitizer report"; fi
  expects=$(grep -aE '^[[:space:]]*(#|//)[[:space:]]*expect:' "$f" | sed -E 's/^[[:space:]]*(#|\/\/)[[:space:]]*expect:[[:space:]]*//')
  if [ -z "$expects" ]; then why="${why:+$why; }no '# expect:' line in the file"; fi
  while IFS= read -r e; do
    [ -z "$e" ] && continue
    loc=${e%%: error: *}
    msg=${e#*: error: }
    if ! grep -qF -- "$f:$loc: error: " <<<"$err"; then
      why="${why:+$why; }no error at $loc"
    elif ! grep -F -- "$f:$loc: error: " <<<"$err" | grep -qF -- "$msg"; then
      why="${why:+$why; }error at $loc does not say '$msg'"
    fi
  done <<<"$expects"
  nerr=$(grep -c ': error: ' <<<"$err")
  nexp=$(grep -c . <<<"$expects")
  if [ "$nerr" -ne "$nexp" ]; then why="${why:+$why; }$nerr errors for $nexp expected (a cascade?)"; fi
  if [ -n "$why" ]; then
    fail=$((fail + 1))
    printf 'FAIL %s: %s\n--- stderr ---\n%s\n--------------\n' "$f" "$why" "$err"
  fi
done
echo "bad inputs: $((n - fail)) passed, $fail failed"
[ $fail -eq 0 ]

# test/cli/lib.sh — helpers the CLI test scripts source.  They need $jscc (the binary) and
# $tmp (a scratch directory) set, and count into $pass and $fail.

# expect NAME WANT-EXIT WANT-SUBSTRING(stdout+stderr, may be empty) -- ARGS...
# Runs jscc ARGS; fails on another exit status, a missing substring or a sanitizer report.
expect() {
  local name=$1 want=$2 sub=$3; shift 4
  "$jscc" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local rc=$?
  local why=""
  [ $rc -eq "$want" ] || why="exit $rc, expected $want"
  if [ -n "$sub" ] && ! cat "$tmp/out" "$tmp/err" | grep -qF -- "$sub"; then why="${why:+$why; }missing '$sub'"; fi
  if grep -qE 'AddressSanitizer|runtime error:' "$tmp/err"; then why="sanitizer report"; fi
  if [ -n "$why" ]; then
    fail=$((fail + 1)); echo "FAIL $name: $why"; head -20 "$tmp/out" "$tmp/err"
  else
    pass=$((pass + 1))
  fi
}

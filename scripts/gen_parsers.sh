#!/usr/bin/env bash
# scripts/gen_parsers.sh [--check] — the flex and bison outputs of the two front ends, kept in
# frontend/generated/ for machines without flex and bison (meson setup -Dparsers=pregenerated,
# or -Dparsers=auto when either tool is missing: the GPU machine, bench/gpu.sh).
#
#   scripts/gen_parsers.sh           regenerate frontend/generated/ with the local flex and bison
#   scripts/gen_parsers.sh --check   fail when frontend/generated/ is stale (the meson test
#                                    frontend/generated runs this)
#
# The check has two parts.  (1) frontend/generated/STAMP records the SHA-256 of parser.y,
# lexer.l, config.y and config.l: a grammar or scanner edited since the last regeneration fails
# on any machine, flex and bison or not.  (2) Where the local flex and bison are the versions
# STAMP names, the outputs are regenerated into a temp dir and diffed with the committed ones, so
# a hand edit fails too; with other versions (whose outputs differ anyway) this part is skipped
# and says so.
#
# The outputs are reproducible: no #line directives (bison --no-lines, flex --noline, and the one
# '#line 2 "lexer.l"' flex writes regardless is dropped), bison runs in the output directory with
# bare output names (its header guard is made of them) and flex in frontend/ with a bare input
# name, so no path of the checkout or the temp dir gets into a file.  The flags are otherwise
# those of frontend/meson.build's custom_targets.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD/frontend
gen=$src/generated

check=0
case ${1:-} in
  --check) check=1 ;;
  "") ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "gen_parsers.sh: unknown option '$1' (--check, --help)" >&2; exit 2 ;;
esac

inputs=(parser.y lexer.l config.y config.l)
outputs=(parser.c parser.h lexer.c config_parser.c config_parser.h config_lexer.c)

tool_version() { # flex|bison -> its version number, or nothing when it is not installed
  command -v "$1" >/dev/null 2>&1 || return 0
  "$1" --version | head -1 | awk '{ print $NF }'
}

# generate DIR: the six outputs into DIR (which exists)
generate() {
  local out=$1
  (cd "$out" &&
   bison -Wall -Wno-yacc --no-lines --defines=parser.h -o parser.c "$src/parser.y" &&
   bison -Wall -Wno-yacc --no-lines --defines=config_parser.h -o config_parser.c "$src/config.y")
  (cd "$src" &&
   flex --noline -o "$out/lexer.c" lexer.l &&
   flex --noline -o "$out/config_lexer.c" config.l)
  sed -i '1{/^#line /d}' "$out/lexer.c" "$out/config_lexer.c"
  {
    echo "# frontend/generated/: the flex and bison outputs of frontend/{parser.y,lexer.l,config.y,config.l}"
    echo "# for builds without flex and bison (meson -Dparsers=pregenerated).  Written by"
    echo "# scripts/gen_parsers.sh, checked by 'scripts/gen_parsers.sh --check'; never edit by hand."
    echo "bison $(tool_version bison)"
    echo "flex $(tool_version flex)"
    (cd "$src" && sha256sum "${inputs[@]}") | sed 's/^/sha256 /'
  } >"$out/STAMP"
}

if ((!check)); then
  for t in flex bison; do
    command -v "$t" >/dev/null || { echo "gen_parsers.sh: $t is not installed (scripts/deps.sh)" >&2; exit 1; }
  done
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  generate "$tmp"
  mkdir -p "$gen"
  for f in "${outputs[@]}" STAMP; do mv -f "$tmp/$f" "$gen/$f"; done
  echo "frontend/generated/: regenerated with bison $(tool_version bison), flex $(tool_version flex)"
  exit 0
fi

# ---- --check
[ -f "$gen/STAMP" ] || { echo "FAIL frontend/generated/STAMP is missing: run scripts/gen_parsers.sh" >&2; exit 1; }
stale=0
while read -r _ sum name; do
  now=$(sha256sum "$src/$name" | awk '{ print $1 }')
  if [ "$now" != "$sum" ]; then
    echo "FAIL frontend/$name changed since frontend/generated/ was made: run scripts/gen_parsers.sh" >&2
    stale=1
  fi
done < <(grep '^sha256 ' "$gen/STAMP")
[ "$(grep -c '^sha256 ' "$gen/STAMP")" -eq "${#inputs[@]}" ] || { echo "FAIL frontend/generated/STAMP lists the wrong inputs" >&2; stale=1; }
for f in "${outputs[@]}"; do
  [ -f "$gen/$f" ] || { echo "FAIL frontend/generated/$f is missing: run scripts/gen_parsers.sh" >&2; stale=1; }
done
((!stale)) || exit 1

want_bison=$(awk '$1 == "bison" { print $2 }' "$gen/STAMP")
want_flex=$(awk '$1 == "flex" { print $2 }' "$gen/STAMP")
have_bison=$(tool_version bison)
have_flex=$(tool_version flex)
if [ "$have_bison" != "$want_bison" ] || [ "$have_flex" != "$want_flex" ]; then
  echo "ok   the inputs' hashes match STAMP; the outputs are not regenerated here: they need" \
       "bison $want_bison and flex $want_flex (found: bison ${have_bison:-none}, flex ${have_flex:-none})"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
generate "$tmp"
if ! diff -r -x STAMP "$gen" "$tmp" >"$tmp.diff" 2>&1; then
  head -40 "$tmp.diff" >&2
  rm -f "$tmp.diff"
  echo "FAIL frontend/generated/ differs from what bison $have_bison and flex $have_flex make: run scripts/gen_parsers.sh" >&2
  exit 1
fi
rm -f "$tmp.diff"
echo "ok   frontend/generated/ is what bison $have_bison and flex $have_flex make of the inputs"

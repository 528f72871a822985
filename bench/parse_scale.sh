#!/usr/bin/env bash
# bench/parse_scale.sh [JSCC] (default: a release build in build-release/) — front-end scale benchmark: for models of 1k, 10k and 100k
# nodes, the wall time and peak RSS of `jscc MODEL --passes=verify,shape --dump-ir=text`
# (parse, verify, shape inference and printing the IR text), and the same for reading that IR
# text back.  Median of 5 runs.  Target: 100k nodes in under 1 s, memory linear in size.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${1:-}" ]; then
  # A release build: debug builds also re-verify the graph after every pass.
  [ -d build-release ] || meson setup build-release -Dbuildtype=release -Dtests=false >/dev/null
  ninja -C build-release tools/jscc >/dev/null
fi
jscc=${1:-build-release/tools/jscc}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-8s %-6s %10s %12s %14s\n' nodes input seconds peak_MiB bytes/node
for n in 1000 10000 100000; do
  bench/gen_model.sh $n >"$out/m$n.jsc"
  "$jscc" "$out/m$n.jsc" --dump-ir=text -o "$out/m$n.ir"
  for kind in jsc ir; do
    f="$out/m$n.$kind"
    times=()
    for r in 1 2 3 4 5; do
      /usr/bin/time -f '%e %M' -o "$out/t" "$jscc" "$f" --passes=verify,shape --dump-ir=text -o /dev/null
      times+=("$(cat "$out/t")")
    done
    med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
    sec=${med% *}; kib=${med#* }
    awk -v n=$n -v k=$kind -v s="$sec" -v kib="$kib" \
      'BEGIN { printf "%-8s %-6s %10s %12.1f %14.0f\n", n, k, s, kib / 1024, kib * 1024 / n }'
  done
done

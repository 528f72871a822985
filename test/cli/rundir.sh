#!/usr/bin/env bash
# rundir.sh JSCC — the run directory's integrity (spec/sweep.md §1) with examples/jsc_tiny.jsc
# and 20000 synthetic jets: the lock (a second jscc into a directory in use is refused), kill -9
# at several points then --resume ends as an uninterrupted run (metrics.csv without its timing
# columns, best/last/last.optim bytes), crashes between the files of an epoch's commit
# (simulated by putting the files such a crash leaves in place), a full disk (a tiny tmpfs,
# as root), --resume with other settings (refused, or --force), the manifest's resumes, and
# a run that died in its first epoch.  Run from the source root.
set -u
jscc=$1
tmp=$(mktemp -d)
mnt=$tmp/mnt
cleanup() { mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0; fail=0
. "$(dirname "$0")/lib.sh"
check() {
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name"; fi
}
# The ref engine everywhere: slower epochs give the kills something to land in, and every
# build has it.
run=(train examples/jsc_tiny.jsc --synth-n 20000 --cache-dir "$tmp/cache" --engine ref --quiet)

# same_run NAME A B: B ended as A (metrics without timings, checkpoints byte for byte)
same_run() {
  local name=$1 a=$2 b=$3 f
  check "$name-metrics" bash -c "diff <(cut -d, -f1-6 '$a/metrics.csv') <(cut -d, -f1-6 '$b/metrics.csv') >/dev/null"
  for f in best last last.optim; do check "$name-$f" cmp -s "$a/$f.safetensors" "$b/$f.safetensors"; done
}
# finish DIR ARGS...: continue a run until it finishes (--resume when it has a manifest)
finish() {
  local dir=$1; shift
  for _ in 1 2 3; do
    if [ -f "$dir/manifest.json" ]; then
      "$jscc" "${run[@]}" "$@" --resume "$dir" >"$tmp/out" 2>"$tmp/err" && return 0
    else
      "$jscc" "${run[@]}" "$@" --out "$dir" >"$tmp/out" 2>"$tmp/err" && return 0
    fi
  done
  cat "$tmp/err"
  return 1
}

# Uninterrupted references.
"$jscc" "${run[@]}" --max-epochs 12 --seed 5 --out "$tmp/full12" >/dev/null || { echo "FAIL reference run"; exit 1; }
"$jscc" "${run[@]}" --max-epochs 4 --seed 7 --out "$tmp/full4" >/dev/null || { echo "FAIL reference run"; exit 1; }

# ---- the lock: a second jscc into a directory in use is refused at once ----
"$jscc" "${run[@]}" --max-epochs 300 --out "$tmp/busy" >/dev/null 2>&1 &
busy=$!
for _ in $(seq 100); do [ -s "$tmp/busy/.lock" ] && break; sleep 0.05; done
expect lock-out 1 "'$tmp/busy' is in use: another jscc (pid $busy) is writing this run directory" -- \
  "${run[@]}" --max-epochs 2 --out "$tmp/busy"
expect lock-resume 1 "is in use: another jscc (pid $busy)" -- "${run[@]}" --max-epochs 300 --resume "$tmp/busy"
wait $busy
check lock-first-finishes test $? -eq 0
check lock-first-complete bash -c "[ \$(wc -l <'$tmp/busy/metrics.csv') -eq 301 ]"
check lock-seed-kept grep -qF '"seed": 0' "$tmp/busy/manifest.json"

# ---- kill -9 at several points, then --resume: the uninterrupted run's results ----
for delay in 0.01 0.05 0.1 0.15 0.2 0.3 0.4; do
  dir=$tmp/kill-$delay
  "$jscc" "${run[@]}" --max-epochs 12 --seed 5 --out "$dir" >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  rows=$(($(cat "$dir/metrics.csv" 2>/dev/null | wc -l) - 1))
  echo "killed after ${delay}s: $([ -f "$dir/manifest.json" ] || echo 'no manifest, ')$((rows < 0 ? 0 : rows)) rows in metrics.csv"
  check "kill-$delay-finish" finish "$dir" --max-epochs 12 --seed 5
  check "kill-$delay-no-temps" bash -c "! ls '$dir' | grep -q '\.tmp'"
  same_run "kill-$delay" "$tmp/full12" "$dir"
done

# ---- crashes inside an epoch's commit, from the files they leave ----
"$jscc" "${run[@]}" --max-epochs 2 --t-max 4 --seed 7 --out "$tmp/part2" >/dev/null
"$jscc" "${run[@]}" --max-epochs 3 --t-max 4 --seed 7 --out "$tmp/part3" >/dev/null
# killed after last.safetensors and metrics.csv of epoch 3, before its commit
cp -r "$tmp/part2" "$tmp/ahead"
cp "$tmp/part3/last.safetensors" "$tmp/part3/metrics.csv" "$tmp/ahead/"
expect ahead-repair 0 "repairing last.safetensors" -- "${run[@]}" --max-epochs 2 --seed 7 --resume "$tmp/ahead"
check ahead-last cmp -s "$tmp/part2/last.safetensors" "$tmp/ahead/last.safetensors"
check ahead-rows bash -c "[ \$(wc -l <'$tmp/ahead/metrics.csv') -eq 3 ]"
check ahead-finish finish "$tmp/ahead" --max-epochs 4 --seed 7
same_run ahead "$tmp/full4" "$tmp/ahead"
# a write cut short leaves a temp file: the resume clears it
echo partial >"$tmp/ahead/last.optim.safetensors.tmpAbC123"
check temp-cleared bash -c "'$jscc' ${run[*]} --max-epochs 4 --seed 7 --resume '$tmp/ahead' >/dev/null && [ ! -e '$tmp/ahead/last.optim.safetensors.tmpAbC123' ]"
# a torn last.safetensors (a file system that lost part of it)
cp -r "$tmp/part2" "$tmp/torn"
truncate -s 100 "$tmp/torn/last.safetensors"
expect torn-repair 0 "repairing last.safetensors" -- "${run[@]}" --max-epochs 2 --seed 7 --resume "$tmp/torn"
check torn-last cmp -s "$tmp/part2/last.safetensors" "$tmp/torn/last.safetensors"
# killed after the commit of epoch 3, the best so far, before best.safetensors
cp -r "$tmp/part3" "$tmp/nobest"
cp "$tmp/part2/best.safetensors" "$tmp/nobest/"
expect nobest-repair 0 "repairing best.safetensors" -- "${run[@]}" --max-epochs 3 --seed 7 --resume "$tmp/nobest"
check nobest-best cmp -s "$tmp/part3/best.safetensors" "$tmp/nobest/best.safetensors"
check nobest-finish finish "$tmp/nobest" --max-epochs 4 --seed 7
same_run nobest "$tmp/full4" "$tmp/nobest"

# ---- a run that died in its first epoch: manifest and init.safetensors only ----
mkdir "$tmp/first"
cp "$tmp/part2/manifest.json" "$tmp/part2/init.safetensors" "$tmp/part3/last.safetensors" "$tmp/first/"
expect first-out 1 "stopped before it committed its first epoch: restart it with --resume $tmp/first" -- \
  "${run[@]}" --max-epochs 4 --seed 7 --out "$tmp/first"
expect first-restart 0 "restarting it from init.safetensors" -- "${run[@]}" --max-epochs 4 --seed 7 --resume "$tmp/first"
same_run first "$tmp/full4" "$tmp/first"

# ---- --resume with other settings: refused, naming each difference, unless --force ----
cp -r "$tmp/part2" "$tmp/other"
expect differ 1 "lr: the run has 0.001, this command 0.01" -- "${run[@]}" --max-epochs 3 --seed 7 --lr 0.01 --resume "$tmp/other"
check differ-lists-seed grep -qF "seed: the run has 7, this command 8" <("$jscc" "${run[@]}" --seed 8 --batch-size 64 --resume "$tmp/other" 2>&1)
check differ-lists-batch grep -qF "batch_size: the run has 256, this command 64" <("$jscc" "${run[@]}" --seed 8 --batch-size 64 --resume "$tmp/other" 2>&1)
check differ-optimizer grep -qF "optimizer: the run has \"adam\", this command \"sgd\"" <("$jscc" "${run[@]}" --seed 7 --optimizer sgd --resume "$tmp/other" 2>&1)
check differ-untouched cmp -s "$tmp/part2/manifest.json" "$tmp/other/manifest.json"
expect force 0 "continuing with settings that differ" -- "${run[@]}" --max-epochs 3 --seed 7 --lr 0.01 --force --resume "$tmp/other"
check force-rows bash -c "[ \$(wc -l <'$tmp/other/metrics.csv') -eq 4 ]"
expect force-needs-resume 2 "--force applies to --resume only" -- "${run[@]}" --force --out "$tmp/x"
# the manifest keeps the first command and lists each resume
finish "$tmp/other" --max-epochs 4 --seed 7 --lr 0.01 --force
if command -v python3 >/dev/null; then
  check manifest-resumes python3 - "$tmp/other/manifest.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
r = m["resumes"]
assert "--out" in m["argv"] and "--max-epochs 2" in m["command"], m["command"]
assert len(r) == 2 and [x["from_epoch"] for x in r] == [2, 3], r
assert "--resume" in r[0]["argv"] and "lr: the run has 0.001" in r[0]["forced"], r[0]
assert r[1]["forced"] is None and r[1]["time"] and m["resumed_from_epoch"] == 3
assert m["hyperparameters"]["lr"] == 0.01
EOF
fi

# ---- a full disk: a tiny tmpfs fills at different points of the first epoch ----
if [ "$(id -u)" -ne 0 ]; then
  echo "rundir.sh: not root: skipping the full-disk test"
elif ! { mkdir -p "$mnt" && mount -t tmpfs -o size=16k tmpfs "$mnt"; } 2>/dev/null; then
  echo "rundir.sh: cannot mount a tmpfs: skipping the full-disk test"
else
  umount "$mnt"
  for size in 16k 20k 24k; do
    mount -t tmpfs -o size=$size tmpfs "$mnt"
    expect "enospc-$size" 1 "No space left on device" -- "${run[@]}" --max-epochs 4 --seed 7 --out "$mnt/run"
    check "enospc-$size-note" grep -qE "^note: $mnt/run (keeps epoch 1, its last committed|has no committed epoch yet): " "$tmp/err"
    cp -r "$mnt/run" "$tmp/moved-$size" # resumed elsewhere
    check "enospc-$size-moved" finish "$tmp/moved-$size" --max-epochs 4 --seed 7
    same_run "enospc-$size-moved" "$tmp/full4" "$tmp/moved-$size"
    mount -o remount,size=1m "$mnt" # resumed in place once there is room
    check "enospc-$size-resume" finish "$mnt/run" --max-epochs 4 --seed 7
    same_run "enospc-$size" "$tmp/full4" "$mnt/run"
    umount "$mnt"
  done
fi

echo "rundir.sh: $pass passed, $fail failed"
[ $fail -eq 0 ]

#!/usr/bin/env bash
# mpi.sh JSCC — `mpirun --oversubscribe -np 3 jscc sweep` on one machine: the results and
# every trial's metrics equal the local run's (timings aside), only rank 0 writes the sweep
# files and prints; a worker rank killed in the middle of a trial costs that trial only, and
# --resume under mpirun completes it with the same results; a sweep that fails on rank 0
# stops the other ranks; a search's trials scored by the worker ranks.  Exit 77 (skipped)
# without MPI in jscc or without mpirun.
# Run from the source root.
set -u
jscc=$1
"$jscc" --version | grep -q '^features:.* mpi=yes' || { echo "jscc built without MPI: skipped"; exit 77; }
command -v mpirun >/dev/null || { echo "no mpirun: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0; fail=0

. "$(dirname "$0")/lib.sh"
check() {
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name"; fi
}
# A CSV without the named columns (the timings, the only ones that differ between runs).
drop_cols() {
  awk -F, -v drop="$2" 'BEGIN { n = split(drop, d, " ") }
    NR == 1 { for (i = 1; i <= NF; i++) for (k = 1; k <= n; k++) if ($i == d[k]) skip[i] = 1 }
    { o = ""; sep = ""; for (i = 1; i <= NF; i++) if (!(i in skip)) { o = o sep $i; sep = "," }; print o }' "$1"
}
same_results() { diff <(drop_cols "$1/results.csv" "mean_epoch_seconds samples_per_second") \
                      <(drop_cols "$2/results.csv" "mean_epoch_seconds samples_per_second"); }
same_metrics() { # every trial's metrics.csv
  local t ok=0
  for t in "$1"/trials/*; do
    diff <(drop_cols "$t/metrics.csv" "epoch_seconds samples_per_second train_seconds") \
         <(drop_cols "$2/trials/$(basename "$t")/metrics.csv" "epoch_seconds samples_per_second train_seconds") || ok=1
  done
  return $ok
}

# Open MPI unloads its components (dlclose) in MPI_Finalize and leaves their allocations,
# which LeakSanitizer reports without a name to suppress them by: no leak check under mpirun
# (the local runs keep it; ASan's other checks and UBSan stay on).
mpirun=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" mpirun --oversubscribe)
[ "$(id -u)" -ne 0 ] || mpirun+=(--allow-run-as-root)
mpi=("${mpirun[@]}" -np 3)
# containers often forbid the cross-memory attach of Open MPI's shared-memory transport
export OMPI_MCA_btl_vader_single_copy_mechanism=none
grid=(sweep examples/jsc_tiny.jsc --batch-size 256,1024 --lr 1e-3,1e-2 --max-epochs 2 --synth-n 20000
      --cache-dir "$tmp/cache")
# mpirun NAME WANT-EXIT WANT-SUBSTRING -- ARGS: expect, under mpirun
under_mpi() {
  local name=$1 want=$2 sub=$3; shift 4
  timeout 120 "${mpi[@]}" "$jscc" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local rc=$? why=""
  [ $rc -eq "$want" ] || why="exit $rc, expected $want"
  if [ -n "$sub" ] && ! grep -qF -- "$sub" "$tmp/out" "$tmp/err"; then why="${why:+$why; }missing '$sub'"; fi
  if grep -qE 'AddressSanitizer|runtime error:' "$tmp/err"; then why="sanitizer report"; fi
  if [ -n "$why" ]; then
    fail=$((fail + 1)); echo "FAIL $name: $why"; head -20 "$tmp/out" "$tmp/err"
  else
    pass=$((pass + 1))
  fi
}

# ---- the same sweep locally and on 3 ranks ----
expect local 0 "4 trials: 4 ok" -- "${grid[@]}" --out "$tmp/L" --jobs 2
under_mpi mpi 0 "4 trials: 4 ok" -- "${grid[@]}" --out "$tmp/M"
check mpi-progress bash -c "[ \$(grep -c '^\[[1-4]/4\]' '$tmp/out') -eq 4 ] && [ \$(grep -c '^data:' '$tmp/out') -eq 1 ]"
check mpi-same-results same_results "$tmp/L" "$tmp/M"
check mpi-same-metrics same_metrics "$tmp/L" "$tmp/M"
check mpi-journal-ranks grep -q '"ev":"sweep",.*"ranks":3' "$tmp/M/journal.jsonl"
check mpi-workers-train bash -c "! grep -q '\"ev\":\"begin\",.*\"rank\":0' '$tmp/M/journal.jsonl' &&
  grep -q '\"ev\":\"begin\",.*\"rank\":1' '$tmp/M/journal.jsonl' && grep -q '\"ev\":\"begin\",.*\"rank\":2' '$tmp/M/journal.jsonl'"
check mpi-files bash -c "diff <(ls -A '$tmp/L') <(ls -A '$tmp/M')" # the workers write no file of their own

# ---- one rank: the threads of one process, as without mpirun ----
timeout 120 "${mpirun[@]}" -np 1 "$jscc" "${grid[@]}" --out "$tmp/O" >/dev/null 2>&1
check one-rank grep -q '"ranks":1,' "$tmp/O/journal.jsonl"
check one-rank-same-results same_results "$tmp/L" "$tmp/O"

# ---- a worker rank killed in the middle of a trial; --resume under mpirun completes it ----
# Trials of many epochs, each a round trip to rank 0, so a begin line is seen while its trial
# still runs however fast the machine; rank 0 is stopped once rank 2's begin is seen, so no
# further line of that trial reaches the journal before rank 2 is killed.
long=("${grid[@]}" --max-epochs 12)
expect local-long 0 "4 trials: 4 ok" -- "${long[@]}" --out "$tmp/LK" --jobs 2
rank_pid() { # rank_pid RANK: its process, a child of mpirun (none once the job has ended)
  local p
  for p in $(ps -o pid= --ppid $runner); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && echo "$p"
  done
}
killed=""
"${mpi[@]}" "$jscc" "${long[@]}" --out "$tmp/K" >/dev/null 2>&1 &
runner=$!
for _ in $(seq 1 4000); do # a trial that rank 2 began and has not ended
  kill -0 $runner 2>/dev/null || break
  for t in $(grep -o '"ev":"begin","trial":[0-9]*,"rank":2' "$tmp/K/journal.jsonl" 2>/dev/null | grep -o '[0-9]*,' | tr -d ,); do
    r0=$(rank_pid 0); r2=$(rank_pid 2)
    [ -n "$r0" ] && [ -n "$r2" ] || continue
    kill -STOP $r0 # rank 0 acknowledges no line: rank 2 cannot end the trial meanwhile
    if ! grep -q "\"ev\":\"end\",\"trial\":$t," "$tmp/K/journal.jsonl"; then
      kill -9 $r2; kill -CONT $r0; killed=$t; break 2
    fi
    kill -CONT $r0
  done
  sleep 0.005
done
# Open MPI ends the job once a rank dies; should mpirun hang, it is killed with what is left
timeout 30 tail --pid=$runner -f /dev/null || kill -9 $runner $(ps -o pid= --ppid $runner)
wait $runner 2>/dev/null
check killed-midway bash -c "[ -n '$killed' ] && grep -q '\"ev\":\"begin\",\"trial\":$killed,\"rank\":2' '$tmp/K/journal.jsonl' &&
  ! grep -q '\"ev\":\"end\",\"trial\":$killed,' '$tmp/K/journal.jsonl'"
under_mpi resume 0 "4 trials: 4 ok" -- sweep --resume "$tmp/K"
check resume-same-results same_results "$tmp/LK" "$tmp/K"
check resume-same-metrics same_metrics "$tmp/LK" "$tmp/K"

# ---- rank 0 fails before the sweep begins: every rank stops ----
under_mpi exists 1 "holds a sweep already" -- "${grid[@]}" --out "$tmp/M"
under_mpi usage 2 "unknown option" -- sweep examples/jsc_tiny.jsc --no-such-option

# ---- jscc search on 3 ranks: rank 0 samples and records, ranks 1 and 2 score ----
expect search-float 0 "" -- train examples/jsc_tiny.jsc --max-epochs 1 --synth-n 20000 --cache-dir "$tmp/cache" \
  --out "$tmp/SF" --quiet
search=(search examples/jsc_tiny.jsc --ckpt "$tmp/SF/best.safetensors" --config test/data/search/search_toy_tpe.toml
        --sampler random --n-trials 8 --synth-n 20000 --cache-dir "$tmp/cache" --scoring qat --epochs 3 --asha)
under_mpi search-mpi 0 "(2 MPI ranks score the trials)" -- "${search[@]}" --out "$tmp/SM"
check search-mpi-scored bash -c "[ \$(grep -c ',ok,' '$tmp/SM/results.csv') -eq 8 ] && [ \$(grep -c '^front configs:' '$tmp/out') -eq 1 ]"
check search-mpi-ranks bash -c "grep -q '\"ev\":\"run\",.*\"rank\":1' '$tmp/SM/journal.jsonl' &&
  grep -q '\"ev\":\"run\",.*\"rank\":2' '$tmp/SM/journal.jsonl' && ! grep -q '\"ev\":\"run\",.*\"rank\":0' '$tmp/SM/journal.jsonl'"
check search-mpi-promoted grep -q '"ev":"score",.*"rung":1' "$tmp/SM/journal.jsonl"
check search-mpi-runs bash -c "ls '$tmp/SM'/trials/000/metrics.csv '$tmp/SM/report.html' >/dev/null"
# the same search with the random sampler and one job gives the same choices (sampled from the seed alone)
expect search-local 0 "" -- "${search[@]}" --out "$tmp/SL" --no-report
check search-same-choices bash -c "diff <(cut -d, -f1,5-15 '$tmp/SM/results.csv' | sort) <(cut -d, -f1,5-15 '$tmp/SL/results.csv' | sort)"
timeout 120 "${mpirun[@]}" -np 1 "$jscc" "${search[@]}" --out "$tmp/S1" --no-report >/dev/null 2>&1
check search-one-rank grep -q '"ev":"run",.*"rank":0' "$tmp/S1/journal.jsonl"
sed 's/n_trials = 16/n_trial = 16/' test/data/search/search_toy_tpe.toml >"$tmp/bad.toml"
under_mpi search-bad 1 "unknown key 'n_trial'" -- search examples/jsc_tiny.jsc --ckpt "$tmp/SF/best.safetensors" \
  --config "$tmp/bad.toml" --synth-n 20000 --cache-dir "$tmp/cache" --out "$tmp/SB"

echo "mpi: $pass passed, $fail failed"
[ $fail -eq 0 ]

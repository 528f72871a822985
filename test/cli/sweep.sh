#!/usr/bin/env bash
# sweep.sh JSCC — `jscc sweep` on examples/jsc_tiny.jsc with 5000 synthetic jets: the grid and
# its directory (sweep.json, journal.jsonl, results.csv, one run directory per trial), a trial
# is the run `jscc train` makes, SIGKILL then --resume gives the same results, a torn journal
# line, divergence, the lock, [sweep] tables, --random and --repeat, and bad input.
# Run from the source root.
set -u
jscc=$1
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0; fail=0
small=(--synth-n 5000 --cache-dir "$tmp/cache")

. "$(dirname "$0")/lib.sh"
check() {
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name"; fi
}
# results.csv without its timing columns (mean_epoch_seconds, samples_per_second)
untimed() { cut -d, -f1-12,15- "$1"; }
export -f untimed

# ---- the grid of the issue: 3 batch sizes x 3 learning rates ----
expect grid 0 "9 trials: 9 ok" -- sweep examples/jsc_tiny.jsc --batch-size 64,256,1024 --lr 1e-5,1e-3,1e-2 \
  --max-epochs 3 "${small[@]}" --out "$tmp/D" --jobs 2
D=$tmp/D
check grid-rows bash -c "[ \$(grep -c ',ok,' '$D/results.csv') -eq 9 ] && [ \$(wc -l <'$D/results.csv') -eq 10 ]"
check grid-header bash -c "head -1 '$D/results.csv' | grep -qx 'id,model,batch_size,lr,status,best_epoch,best_val_loss,best_val_acc,final_train_acc,final_val_acc,test_acc,test_acc_macro,mean_epoch_seconds,samples_per_second,trainable_params,dir'"
check grid-order bash -c "cut -d, -f1,3,4 '$D/results.csv' | sed -n '2p;10p' | tr '\n' ' ' | grep -qx '0,64,1e-5 8,1024,1e-2 '"
check grid-dirs test -d "$D/trials/004-bs256-lr1e-3"
check grid-report bash -c "grep -q '<table' '$D/report.html' && ls '$D'/figures/*.png >/dev/null"
check grid-keep-best bash -c "ls '$D/trials/004-bs256-lr1e-3' | tr '\n' ' ' | grep -qx 'best.safetensors manifest.json metrics.csv train.log '"
check journal-ends bash -c "[ \$(grep -c '\"ev\":\"end\"' '$D/journal.jsonl') -eq 9 ]"
check journal-epochs bash -c "[ \$(grep -c '\"ev\":\"epoch\"' '$D/journal.jsonl') -eq 27 ]"
check sweep-json bash -c "grep -q '\"argv\": \\[\"jscc\", \"train\", \"examples/jsc_tiny.jsc\"' '$D/sweep.json'"

# ---- a trial is the run jscc train makes: same metrics (timings aside), same checkpoint ----
args=$(sed -n '/"id": 4,/,/argv/p' "$D/sweep.json" | grep -o '"argv": \[.*\]' | sed 's/"argv": \[//; s/\]$//; s/", "/\n/g; s/"//g' | tail -n +3)
mapfile -t targs <<<"$args"
expect trial-alone 0 "" -- train "${targs[@]}" --out "$tmp/alone" --quiet
check trial-metrics-equal bash -c "diff <(cut -d, -f1-6 '$tmp/alone/metrics.csv') <(cut -d, -f1-6 '$D/trials/004-bs256-lr1e-3/metrics.csv')"
check trial-best-equal cmp -s "$tmp/alone/best.safetensors" "$D/trials/004-bs256-lr1e-3/best.safetensors"

# ---- SIGKILL in the middle, then --resume: the same results, timing columns aside ----
base=(sweep examples/jsc_tiny.jsc --batch-size 128,512 --lr 1e-3,1e-2 --max-epochs 4 "${small[@]}" --jobs 1)
expect whole 0 "4 trials: 4 ok" -- "${base[@]}" --out "$tmp/W"
"$jscc" "${base[@]}" --out "$tmp/K" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 500); do # kill once the second trial has a committed epoch
  grep -q '"ev":"epoch","trial":1' "$tmp/K/journal.jsonl" 2>/dev/null && break
  sleep 0.01
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
check killed-midway bash -c "[ \$(grep -c '\"ev\":\"end\"' '$tmp/K/journal.jsonl') -lt 4 ]"
printf '{"ev":"end","trial":3,"sta' >>"$tmp/K/journal.jsonl" # a torn append
expect resume 0 "4 trials: 4 ok" -- sweep --resume "$tmp/K"
check resume-same-results bash -c "diff <(untimed '$tmp/W/results.csv') <(untimed '$tmp/K/results.csv')"
check resume-no-repeat bash -c "[ \$(grep -c '\"ev\":\"end\",\"trial\":0,' '$tmp/K/journal.jsonl') -eq 1 ]"
for t in "$tmp"/W/trials/*; do
  check "resume-metrics-$(basename "$t")" bash -c "diff <(cut -d, -f1-6 '$t/metrics.csv') <(cut -d, -f1-6 '$tmp/K/trials/$(basename "$t")/metrics.csv')"
done
expect resume-done 0 "4 finished already" -- sweep --resume "$tmp/K"
# killed after a trial's last epoch was committed and before its end: it resumes with no
# epoch to run, and its final accuracies come from metrics.csv
expect keep-all 0 "4 trials: 4 ok" -- "${base[@]}" --out "$tmp/E" --keep all
grep -v '"ev":"end","trial":2,' "$tmp/E/journal.jsonl" >"$tmp/E/j" && mv "$tmp/E/j" "$tmp/E/journal.jsonl"
expect resume-ended 0 "4 trials: 4 ok" -- sweep --resume "$tmp/E"
check resume-ended-results bash -c "diff <(untimed '$tmp/W/results.csv') <(untimed '$tmp/E/results.csv')"

# ---- --shard I/N: two shards, one directory, merged results equal the whole sweep's ----
expect shard0 0 "2 ok" -- "${base[@]}" --out "$tmp/S" --shard 0/2
expect shard1 0 "4 trials: 4 ok" -- "${base[@]}" --out "$tmp/S" --shard 1/2
check shard-journals bash -c "ls '$tmp/S'/journal-shard-0-of-2.jsonl '$tmp/S'/journal-shard-1-of-2.jsonl >/dev/null"
check shard-results bash -c "diff <(untimed '$tmp/W/results.csv') <(untimed '$tmp/S/results.csv')"
rm "$tmp/S/results.csv"
expect shard-report 0 "report.html" -- report "$tmp/S" --no-figures
check shard-report-merges bash -c "diff <(untimed '$tmp/W/results.csv') <(untimed '$tmp/S/results.csv')"
expect shard-other 1 "holds another sweep" -- sweep examples/jsc_tiny.jsc --lr 1e-3 --max-epochs 1 "${small[@]}" --out "$tmp/S" --shard 1/2
expect shard-bad 2 "--shard: expected I/N" -- "${base[@]}" --out "$tmp/S2" --shard 2/2

# ---- a diverging trial is marked and the sweep goes on ----
expect diverge 0 "2 trials: 1 ok, 1 diverged" -- sweep examples/jsc_big.jsc --lr 1e-3,1e10 --max-epochs 2 \
  "${small[@]}" --out "$tmp/V"
check diverged-row bash -c "grep -q ',1e10,diverged,' '$tmp/V/results.csv'"
check diverged-journal grep -q '"status":"diverged"' "$tmp/V/journal.jsonl"

# ---- the lock: a second writer is refused ----
if command -v flock >/dev/null; then
  flock "$tmp/K/.lock" sleep 3 &
  sleep 0.3
  expect locked 1 "being written by another jscc process" -- sweep --resume "$tmp/K"
  wait
fi

# ---- a [sweep] table, with MASE's training keys beside it ----
cat >"$tmp/s.toml" <<'EOF'
max_epochs = 2
[sweep]
models = ["examples/jsc_tiny.jsc"]
batch_size = [256, 1024]
lr = "log:1e-3:1e-2:2"
synth_n = 5000
EOF
expect config 0 "4 trials: 4 ok" -- sweep --config "$tmp/s.toml" --cache-dir "$tmp/cache" --out "$tmp/C"
check config-axes bash -c "cut -d, -f3,4 '$tmp/C/results.csv' | tr '\n' ' ' | grep -qx 'batch_size,lr 256,0.001 256,0.01 1024,0.001 1024,0.01 '"
check config-epochs bash -c "[ \$(wc -l <'$tmp/C/trials/000-bs256-lr0.001/metrics.csv') -eq 3 ]"
expect config-override 0 "2 trials: 2 ok" -- sweep --config "$tmp/s.toml" --cache-dir "$tmp/cache" --batch-size 512 --out "$tmp/C2"

# ---- --random draws repeatably; --repeat gives mean and spread ----
expect random 0 "3 trials" -- sweep examples/jsc_tiny.jsc --lr log:1e-4:1e-2:2 --batch-size 128,512 --random 3 \
  --max-epochs 1 "${small[@]}" --out "$tmp/R1"
expect random-again 0 "3 trials" -- sweep examples/jsc_tiny.jsc --lr log:1e-4:1e-2:2 --batch-size 128,512 --random 3 \
  --max-epochs 1 "${small[@]}" --out "$tmp/R2"
check kernel-cache-hit bash -c "grep -q 'loaded from the kernel cache' '$tmp/R2'/trials/000-*/train.log"
check random-same bash -c "diff <(grep -A3 '\"trials\"' '$tmp/R1/sweep.json') <(grep -A3 '\"trials\"' '$tmp/R2/sweep.json')"
expect repeat 0 "4 trials: 4 ok" -- sweep examples/jsc_tiny.jsc --lr 1e-3,1e-2 --repeat 2 --max-epochs 1 "${small[@]}" --out "$tmp/P"
check repeat-seeds bash -c "cut -d, -f3,4 '$tmp/P/results.csv' | tr '\n' ' ' | grep -qx 'lr,seed 1e-3,0 1e-3,1 1e-2,0 1e-2,1 '"
check repeat-summary bash -c "head -1 '$tmp/P/summary.csv' | grep -q '^model,lr,trials,ok,best_val_loss_mean,best_val_loss_std' && [ \$(wc -l <'$tmp/P/summary.csv') -eq 3 ]"

# ---- TensorBoard: a log directory per trial, and one for a plain training run ----
expect tensorboard 0 "2 trials: 2 ok" -- sweep examples/jsc_tiny.jsc --lr 1e-3,1e-2 --max-epochs 2 "${small[@]}" \
  --out "$tmp/T" --tensorboard "$tmp/T/tb"
check tb-trials bash -c "ls '$tmp/T/tb/000-lr1e-3'/events.out.tfevents.* '$tmp/T/tb/001-lr1e-2'/events.out.tfevents.* >/dev/null"
check tb-tags bash -c "grep -aq val_acc_epoch '$tmp/T/tb/000-lr1e-3'/events.out.tfevents.* && grep -aq _hparams_/session_start_info '$tmp/T/tb/000-lr1e-3'/events.out.tfevents.*"
expect tb-train 0 "" -- train examples/jsc_tiny.jsc --max-epochs 1 "${small[@]}" --out "$tmp/TR" --tensorboard "$tmp/TR/tb"
check tb-train-file bash -c "grep -aq train_loss_epoch '$tmp/TR/tb'/events.out.tfevents.*"

# ---- bad input ----
expect no-model 2 "expected a model file" -- sweep --lr 1e-3,1e-2
expect unknown-opt 2 "unknown option '--learning-rate'" -- sweep examples/jsc_tiny.jsc --learning-rate 1e-3,1e-2
expect banned-opt 2 "--dump-plan is not allowed in a sweep" -- sweep examples/jsc_tiny.jsc --dump-plan
expect bad-range 1 "a log range needs FROM and TO above 0" -- sweep examples/jsc_tiny.jsc --lr log:0:1:3
expect bad-range-form 1 "a range reads lin:FROM:TO:COUNT" -- sweep examples/jsc_tiny.jsc --lr lin:1:2
expect bad-value 2 "--lr: expected a positive number, got '-1'" -- sweep examples/jsc_tiny.jsc --lr 1e-3,-1 "${small[@]}" --out "$tmp/B"
expect exists 1 "holds a sweep already" -- sweep examples/jsc_tiny.jsc --lr 1e-3,1e-2 "${small[@]}" --out "$tmp/P"
expect resume-extra 2 "only --jobs, --keep, --tensorboard and --shard" -- sweep --resume "$tmp/P" --lr 1e-3
cp -r "$tmp/P" "$tmp/Pbad"
sed -i 's/"version": 1/"version": 7/' "$tmp/Pbad/sweep.json"
expect bad-sweep-json 1 "sweep.json:2:14: error: 'version': expected 1" -- sweep --resume "$tmp/Pbad"
cp -r "$tmp/P" "$tmp/Jbad"
sed -i '2s/.*/{"ev": oops}/' "$tmp/Jbad/journal.jsonl"
expect bad-journal 1 "journal.jsonl:2:" -- sweep --resume "$tmp/Jbad"
printf '[sweep]\nlr = [1e-3, {a = 1}]\n' >"$tmp/bad.toml"
expect bad-config 1 "bad.toml:2:1: error: sweep.lr" -- sweep examples/jsc_tiny.jsc --config "$tmp/bad.toml"
printf '[sweep]\nlearning_rat = [1e-3]\n' >"$tmp/bad2.toml"
expect bad-config-key 1 "sweep.learning_rat: not a sweep or train option" -- sweep examples/jsc_tiny.jsc --config "$tmp/bad2.toml"

echo "sweep: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

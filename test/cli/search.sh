#!/usr/bin/env bash
# search.sh JSCC — `jscc search` on examples/jsc_tiny.jsc with 5000 synthetic jets: MASE's
# search TOML scored by PTQ (the directory, results.csv, the front and its configs, the
# report), a front point's config through jscc test and jscc transform reproducing its
# accuracy, QAT scoring with ASHA on two threads, SIGKILL then --resume giving the same
# trials, the samplers, and bad input located at the TOML key.  Run from the source root.
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
# results.csv without its timing column (seconds, the 25th: 4 + 13 choices + 6 metrics + test_acc)
untimed() { cut -d, -f1-24,26- "$1"; }
export -f untimed

# a float checkpoint to search from
expect float 0 "" -- train examples/jsc_tiny.jsc --max-epochs 2 "${small[@]}" --out "$tmp/F" --quiet
F=$tmp/F/best.safetensors

# MASE's configs/examples/search_toy_tpe.toml, with choices jsc_tiny's nodes take
cp test/data/search/search_toy_tpe.toml "$tmp/s.toml"

# ---- PTQ: the directory and its files ----
expect ptq 0 "Pareto front" -- search examples/jsc_tiny.jsc --ckpt "$F" --config "$tmp/s.toml" "${small[@]}" --out "$tmp/P"
P=$tmp/P
check ptq-space grep -q "search: 13 parameters, 1536 configurations; tpe sampler, 16 trials, PTQ scoring" "$tmp/out"
check ptq-rows bash -c "[ \$(grep -c ',ok,' '$P/results.csv') -eq 16 ] && [ \$(wc -l <'$P/results.csv') -eq 17 ]"
check ptq-header bash -c "head -1 '$P/results.csv' | grep -q '^trial,status,rung,epochs,seq_blocks_1/config/name,seq_blocks_1/config/data_in_width,.*,accuracy,loss,average_bitwidth,memory_density,bops,lut_estimate,test_acc,seconds,on_front,error,passes$'"
check ptq-front-files bash -c "[ \$(ls '$P'/front/*.toml | wc -l) -eq \$((\$(wc -l <'$P/front.csv') - 1)) ]"
check ptq-front-flag bash -c "[ \$(grep -c ',1,,\"quantize' '$P/results.csv') -eq \$((\$(wc -l <'$P/front.csv') - 1)) ]"
check ptq-journal bash -c "[ \$(grep -c '\"ev\":\"score\"' '$P/journal.jsonl') -eq 16 ] && [ \$(grep -c '\"ev\":\"sample\"' '$P/journal.jsonl') -eq 16 ]"
check ptq-report bash -c "grep -q 'Pareto front' '$P/report.html' && grep -q 'Hypervolume' '$P/report.html'"
check ptq-figures bash -c "[ ! -d '$P/figures' ] || ls '$P'/figures/search_bits.svg '$P'/figures/search_bops.svg '$P'/figures/search_luts.svg >/dev/null"
check ptq-hypervolume grep -q "^hypervolume: " "$tmp/out"
expect report-alone 1 "is a jscc search: report on it alone" -- report "$P" "$tmp/F"
expect report-again 0 "" -- report "$P" --out "$tmp/PR"
check report-again-page grep -q 'Pareto front' "$tmp/PR/report.html"
check ptq-float bash -c "grep -q '\"float\": {\"accuracy\": 0\\.' '$P/search.json'"
# each trial's choice of seq_blocks_2's weight_width is one of the config's
check ptq-choices bash -c "awk -F, 'NR > 1 && (\$11 != 2 && \$11 != 4 && \$11 != 8) { bad = 1 } END { exit bad }' '$P/results.csv'"

# ---- a front point: its config through jscc test and transform gives its accuracy ----
row=$(sed -n 2p "$P/front.csv")
id=$(echo "$row" | cut -d, -f1)
acc=$(echo "$row" | cut -d, -f4)
cfg=$P/$(echo "$row" | cut -d, -f5)
expect front-test 0 "" -- test examples/jsc_tiny.jsc --ckpt "$F" --config "$cfg" "${small[@]}" --json
check front-test-acc bash -c "grep -o '\"micro_accuracy\": [0-9.e-]*' '$tmp/out' | head -1 | awk -v a='$acc' '{ d = \$2 - a; exit !(d < 1e-9 && d > -1e-9) }'"
expect front-transform 0 "" -- transform examples/jsc_tiny.jsc --ckpt "$F" --config "$cfg" "${small[@]}" --out "$tmp/T"
expect front-transformed-test 0 "" -- test "$tmp/T/model.ir" --ckpt "$tmp/T/quantized.safetensors" "${small[@]}" --json
check front-transform-acc bash -c "grep -o '\"micro_accuracy\": [0-9.e-]*' '$tmp/out' | head -1 | awk -v a='$acc' '{ d = \$2 - a; exit !(d < 1e-9 && d > -1e-9) }'"
check front-train-config bash -c "'$jscc' train examples/jsc_tiny.jsc --config '$cfg' --init '$F' --max-epochs 1 ${small[*]} --out '$tmp/FT' --quiet >/dev/null 2>&1"

# ---- the same seed gives the same trials; another seed others ----
expect ptq-again 0 "" -- search examples/jsc_tiny.jsc --ckpt "$F" --config "$tmp/s.toml" "${small[@]}" --out "$tmp/P2" --no-report --quiet
check ptq-deterministic bash -c "diff <(untimed '$P/results.csv') <(untimed '$tmp/P2/results.csv') >/dev/null"
expect ptq-seed 0 "" -- search examples/jsc_tiny.jsc --ckpt "$F" --config "$tmp/s.toml" "${small[@]}" --out "$tmp/P3" --no-report --quiet --seed 7
check ptq-seed-differs bash -c "! diff <(untimed '$P/results.csv') <(untimed '$tmp/P3/results.csv') >/dev/null"

# ---- SIGKILL, then --resume: the same trials and front ----
"$jscc" search examples/jsc_tiny.jsc --ckpt "$F" --config "$tmp/s.toml" "${small[@]}" --out "$tmp/K" --no-report --quiet \
  >/dev/null 2>&1 &
kpid=$!
for _ in $(seq 1 200); do
  [ -f "$tmp/K/journal.jsonl" ] && [ "$(grep -c '"ev":"score"' "$tmp/K/journal.jsonl")" -ge 5 ] && break
  sleep 0.05
done
kill -9 $kpid 2>/dev/null; wait $kpid 2>/dev/null
check killed-midway bash -c "[ \$(grep -c '\"ev\":\"score\"' '$tmp/K/journal.jsonl') -lt 16 ]"
expect resume 0 "Pareto front" -- search --resume "$tmp/K" --quiet
check resume-same bash -c "diff <(untimed '$P/results.csv') <(untimed '$tmp/K/results.csv') >/dev/null"
check resume-front bash -c "diff '$P/front.csv' '$tmp/K/front.csv' >/dev/null"
check resume-no-rescore bash -c "[ \$(grep -c '\"ev\":\"score\"' '$tmp/K/journal.jsonl') -eq 16 ]"
expect resume-done 0 "" -- search --resume "$tmp/K" --quiet
check resume-done-nothing bash -c "[ \$(grep -c '\"ev\":\"score\"' '$tmp/K/journal.jsonl') -eq 16 ]"
# a kill between a trial's "sample" line and its "run" line: resume runs that trial, it does not
# sample past it
mkdir "$tmp/KS"
cp "$tmp/K/search.json" "$tmp/KS/"
awk '{ print } /"ev":"sample","trial":10,/ { exit }' "$tmp/K/journal.jsonl" >"$tmp/KS/journal.jsonl"
sed -i "s|$tmp/K\([\"/]\)|$tmp/KS\\1|g" "$tmp/KS/search.json"
expect resume-after-sample 0 "Pareto front" -- search --resume "$tmp/KS" --quiet
check resume-after-sample-same bash -c "diff <(untimed '$P/results.csv') <(untimed '$tmp/KS/results.csv') >/dev/null"
check resume-after-sample-16 bash -c "[ \$(grep -c '\"ev\":\"score\"' '$tmp/KS/journal.jsonl') -eq 16 ]"
expect exists 1 "holds a search already" -- search examples/jsc_tiny.jsc --ckpt "$F" --config "$tmp/s.toml" "${small[@]}" --out "$tmp/K"
cp "$tmp/s.toml" "$tmp/s-changed.toml"
cp -r "$tmp/K" "$tmp/K2"
sed -i "s|$tmp/s.toml|$tmp/s-changed.toml|" "$tmp/K2/search.json"
echo "# edited" >>"$tmp/s-changed.toml"
expect resume-changed 1 "changed since the search" -- search --resume "$tmp/K2"

# ---- QAT with ASHA on two threads: rungs of 1 and 3 epochs ----
expect qat 0 "QAT scoring with ASHA" -- search examples/jsc_tiny.jsc --ckpt "$F" --config "$tmp/s.toml" "${small[@]}" \
  --out "$tmp/Q" --scoring qat --epochs 3 --asha --jobs 2 --n-trials 9 --no-report
Q=$tmp/Q
check qat-rungs bash -c "grep -q 'rung 1 (3 epochs)' '$tmp/out' && grep -q 'rung 0 (1 epochs)' '$tmp/out'"
check qat-halving bash -c "[ \$(grep -c '\"rung\":1' '$Q/journal.jsonl') -lt \$(grep -c '\"rung\":0' '$Q/journal.jsonl') ]"
check qat-run-dirs bash -c "ls '$Q'/trials/000/metrics.csv '$Q'/trials/000/best.safetensors >/dev/null"
check qat-front-ckpt bash -c "sed -n 2p '$Q/front.csv' | grep -q ',trials/[0-9]*/best.safetensors$'"
check qat-front-epochs bash -c "for t in \$(tail -n +2 '$Q/front.csv' | cut -d, -f1); do awk -F, -v t=\$t 'NR > 1 && \$1 == t { exit \$4 != 3 }' '$Q/results.csv' || exit 1; done"
qrow=$(sed -n 2p "$Q/front.csv")
qacc=$(echo "$qrow" | cut -d, -f4)
expect qat-front-test 0 "" -- test examples/jsc_tiny.jsc --ckpt "$Q/$(echo "$qrow" | cut -d, -f6)" \
  --config "$Q/$(echo "$qrow" | cut -d, -f5)" "${small[@]}" --json
check qat-front-test-acc bash -c "grep -o '\"micro_accuracy\": [0-9.e-]*' '$tmp/out' | head -1 | awk -v a='$qacc' '{ d = \$2 - a; exit !(d < 1e-9 && d > -1e-9) }'"
check qat-engine bash -c "grep -q 'engine: jit' '$Q/trials/000/train.log'"

# ---- samplers ----
for s in random nsgaii grid; do
  expect "sampler-$s" 0 "$s sampler" -- search examples/jsc_tiny.jsc --ckpt "$F" --config "$tmp/s.toml" "${small[@]}" \
    --out "$tmp/S-$s" --sampler $s --n-trials 6 --no-report --quiet
done
check grid-distinct bash -c "[ \$(tail -n +2 '$tmp/S-grid/results.csv' | cut -d, -f5-17 | sort -u | wc -l) -eq 6 ]"
expect sampler-bad 2 "did you mean 'tpe'" -- search examples/jsc_tiny.jsc --ckpt "$F" --config "$tmp/s.toml" --sampler tpr

# ---- bad input, located at the TOML key ----
bad() { # NAME WANT-SUBSTRING SED-EXPRESSION
  sed "$3" "$tmp/s.toml" >"$tmp/bad-$1.toml"
  expect "bad-$1" 1 "$2" -- search examples/jsc_tiny.jsc --ckpt "$F" --config "$tmp/bad-$1.toml" "${small[@]}" --out "$tmp/B-$1"
  check "bad-$1-nothing-written" test ! -e "$tmp/B-$1/results.csv"
}
bad sampler "bad-sampler.toml:27:1: error: search.strategy.setup.sampler: 'nsgaiii' is not a jscc sampler" 's/sampler = "tpe"/sampler = "nsgaiii"/'
bad metric "error: search.strategy.metrics.acuracy: unknown metric 'acuracy' (did you mean 'accuracy'?)" 's/^accuracy.scale/acuracy.scale/; s/^accuracy.direction/acuracy.direction/'
bad direction "search.strategy.metrics.accuracy.direction: 'up' is not a direction" 's/accuracy.direction = "maximize"/accuracy.direction = "up"/'
bad by "search.search_space.setup.by: 'names' is not" 's/by = "name"/by = "names"/'
bad space-name "MASE's search space 'graph/quantize/mixed_precision_qat' is not available in jscc" 's|mixed_precision_ptq|mixed_precision_qat|'
bad strategy "MASE's 'rl' strategy is not available in jscc" 's/name = "optuna"/name = "rl"/'
bad unknown-key "search.strategy.setup: unknown key 'n_trial' (did you mean 'n_trials'?)" 's/n_trials = 16/n_trial = 16/'
bad n-trials "search.strategy.setup.n_trials: expected a whole number" 's/n_trials = 16/n_trials = "16"/'
bad node "search.search_space.seed.seq_blocks_9: the model has no node 'seq_blocks_9'" 's/seed.default.config/seed.seq_blocks_9.config/'
bad empty "search.search_space.seed.default.config.weight_width: an empty list of choices" 's/weight_width = \[2, 4, 8\]/weight_width = []/'
printf 'seed = 1\n' >"$tmp/nosearch.toml"
expect no-search 1 "the config has no [search] table" -- search examples/jsc_tiny.jsc --ckpt "$F" --config "$tmp/nosearch.toml" "${small[@]}" --out "$tmp/B-none"
expect no-ckpt 2 "--ckpt FILE is required" -- search examples/jsc_tiny.jsc --config "$tmp/s.toml"
expect asha-ptq 2 "ASHA stops QAT trials early" -- search examples/jsc_tiny.jsc --ckpt "$F" --config "$tmp/s.toml" --asha
expect bad-ckpt 1 "" -- search examples/jsc_tiny.jsc --ckpt "$tmp/s.toml" --config "$tmp/s.toml" "${small[@]}" --out "$tmp/B-ckpt"
# a trial whose config the model refuses is a failed trial, and the search goes on
sed 's/^name = \["integer"\]/name = ["integer", "integr"]/' "$tmp/s.toml" >"$tmp/refused.toml"
expect refused 0 "unknown number format 'integr'" -- search examples/jsc_tiny.jsc --ckpt "$F" --config "$tmp/refused.toml" "${small[@]}" \
  --out "$tmp/R" --n-trials 8 --no-report
check refused-recorded bash -c "grep -q ',failed,' '$tmp/R/results.csv'"

sed 's/^name = \["integer"\]/name = ["integr"]/' "$tmp/s.toml" >"$tmp/all-refused.toml"
expect all-refused 0 "Pareto front (0 of 4 trials)" -- search examples/jsc_tiny.jsc --ckpt "$F" --config "$tmp/all-refused.toml" \
  "${small[@]}" --out "$tmp/AR" --n-trials 4
check all-refused-report grep -q "No figures yet: no trial has scored" "$tmp/AR/report.html"

# MASE's own search configs (test/data/mase/search/) run as they are
for f in test/data/mase/search/*.toml; do
  expect "mase-$(basename "$f" .toml)" 0 "Pareto front" -- search examples/jsc_tiny.jsc --ckpt "$F" --config "$f" \
    "${small[@]}" --out "$tmp/MS-$(basename "$f" .toml)" --n-trials 3 --no-report
done

# MASE's quantize configs of every kind train on the JIT (QAT never falls back to the reference)
for f in test/data/mase/*.toml; do
  grep -q '^\[passes.quantize' "$f" || continue
  model=$(sed -n 's/^# model: //p' "$f" | head -1)
  [ "$model" != examples/all_ops.jsc ] || continue # two outputs: jscc train does not train such a model yet
  expect "mase-qat-$(basename "$f" .toml)" 0 "engine: jit" -- train "${model:-examples/jsc_tiny.jsc}" --config "$f" --max-epochs 1 \
    "${small[@]}" --out "$tmp/MQ-$(basename "$f" .toml)"
done

# the format as an axis: each trial's config holds only the keys its format takes
expect format-axis 0 "Pareto front" -- search examples/jsc_tiny.jsc --ckpt "$F" --config test/data/search/format_axis.toml \
  "${small[@]}" --out "$tmp/FA" --no-report
check format-axis-ok bash -c "[ \$(grep -c ',ok,' '$tmp/FA/results.csv') -eq 10 ]"
check format-axis-keys bash -c "grep -q 'name=\"\"minifloat_ieee\"\", data_in_width=[48], data_in_exponent_width=3, data_in_exponent_bias=3, weight_width' '$tmp/FA/results.csv' &&
  grep -q 'name=\"\"integer\"\", data_in_width=[48], data_in_frac_width=3, weight_width=[48], weight_frac_width=3}' '$tmp/FA/results.csv'"

echo "search: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

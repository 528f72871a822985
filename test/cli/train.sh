#!/usr/bin/env bash
# train.sh JSCC — `jscc train` and `jscc test` on examples/jsc_tiny.jsc with 5000 synthetic
# jets: the run output, the run directory (metrics.csv, manifest.json, checkpoints), --resume,
# the same bytes from the same seed, `jscc test` on best.safetensors, and usage errors (exit 2)
# and bad input (exit 1).  Run from the source root.
set -u
jscc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
small=(--synth-n 5000 --cache-dir "$tmp/cache")

. "$(dirname "$0")/lib.sh"
# what this build has (a GPU machine builds without LLVM and HDF5)
features=$("$jscc" --version | sed -n 's/^features: //p')
has() { [[ " $features " == *" $1=yes "* ]]; }
# check NAME COMMAND...: passes when the command succeeds
check() {
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name"; fi
}

# A two-epoch run.
expect train 0 "epoch 2/2" -- train examples/jsc_tiny.jsc --max-epochs 2 "${small[@]}" --out "$tmp/run"
run=$tmp/run
check synthetic-first-line bash -c "head -1 '$tmp/out' | grep -q '^data: SYNTHETIC'"
check engine-line grep -qE '^engine: (jit|ref)' "$tmp/out"
check no-progress-bar-off-tty bash -c "! grep -q $'\r' '$tmp/err'"
check star-explained grep -qE '^epoch 1/2 .*  \* new best val_loss: saved best\.safetensors$' "$tmp/out"
check star-once bash -c "[ \$(grep -c 'new best val_loss' '$tmp/out') -eq 1 ]"
# MASE's jsc-tiny ends with ReLU: one note, at the ReLU's line, for the run.
check relu-logits-note bash -c "[ \$(grep -c '^examples/jsc_tiny.jsc:11:9: note: model JSC_Tiny returns the output of relu (seq_blocks.3): its class logits can never be negative' '$tmp/err') -eq 1 ]"
# On a terminal: the progress bar with steps, the time left and the running loss.
if command -v script >/dev/null; then
  script -qc "'$jscc' train examples/jsc_tiny.jsc --max-epochs 1 --synth-n 5000 --cache-dir '$tmp/cache' --engine ref --out '$tmp/tty'" /dev/null >"$tmp/tty.out" 2>&1
  check progress-bar grep -qE 'epoch 1/1 \[[# ]+\] [0-9]+/[0-9]+ steps  ETA [0-9]+:[0-9]{2}  loss [0-9]+\.[0-9]{4}' "$tmp/tty.out"
fi
for f in metrics.csv manifest.json init.safetensors best.safetensors last.safetensors last.optim.safetensors; do
  check "run-dir-$f" test -s "$run/$f"
done
check csv-header bash -c "head -1 '$run/metrics.csv' | grep -qx 'epoch,train_loss,train_acc,val_loss,val_acc,lr,epoch_seconds,samples_per_second,train_seconds'"
check csv-rows bash -c "[ \$(wc -l <'$run/metrics.csv') -eq 3 ] && cut -d, -f1 '$run/metrics.csv' | tail -2 | tr '\n' ' ' | grep -qx '1 2 '"
check csv-fields awk -F, 'NR > 1 && (NF != 9 || $3 <= 0 || $3 >= 1 || $2 <= 0) { bad = 1 } END { exit bad }' "$run/metrics.csv"
for key in '"command": ' '"argv": ' '"jscc_version": ' '"seed": 0' '"engine": ' '"host_cpu": ' \
           '"path": "examples/jsc_tiny.jsc"' '"synthetic": true' '"batch_size": 256' '"optimizer": "adam"' \
           '"lr": 0.001' '"scheduler": "cosine"' '"eta_min": 1e-06' '"t_max": 2'; do
  check "manifest-$key" grep -qF -- "$key" "$run/manifest.json"
done
check manifest-hashes bash -c "[ \$(grep -oE '\"hash\": \"[0-9a-f]{16}\"' '$run/manifest.json' | wc -l) -eq 2 ]"
if command -v python3 >/dev/null; then
  check manifest-json python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$run/manifest.json"
fi

# jscc test on the best checkpoint.
expect test 0 "confusion matrix" -- test examples/jsc_tiny.jsc --ckpt "$run/best.safetensors" "${small[@]}"
check test-accuracy grep -qE '^test accuracy +0\.[0-9]+' "$tmp/out"
check test-relu-note bash -c "[ \$(grep -c 'note: model JSC_Tiny returns the output of relu' '$tmp/err') -eq 1 ]"
check test-classes bash -c "grep -qE '^ +g +q +w +z +t\$' '$tmp/out'"
check test-per-class grep -qE '^  t  ' "$tmp/out"
check test-macro grep -qE '^test macro accuracy +0\.[0-9]+  \(macro' "$tmp/out"
check test-json-file grep -qF '"split": "test"' "$run/test.json"
check test-report-said grep -qF "report written to $run/test.json" "$tmp/out"
# --json: the report alone on stdout; --split val: the best epoch's val_loss again
"$jscc" test examples/jsc_tiny.jsc --ckpt "$run/best.safetensors" "${small[@]}" --json --split val >"$tmp/val.json" 2>"$tmp/err"
check test-json-exit test $? -eq 0
check test-json-stderr grep -q '^data: SYNTHETIC' "$tmp/err"
check test-json-run-file grep -qF '"split": "val"' "$run/test.json"
if command -v python3 >/dev/null; then
  check test-json-fields python3 - "$tmp/val.json" "$run/metrics.csv" <<'EOF2'
import csv, json, sys
j = json.load(open(sys.argv[1]))
assert j["split"] == "val" and j["rows"] > 0 and j["checkpoint"].endswith("best.safetensors"), j
assert set(j) == {"split", "rows", "loss", "micro_accuracy", "macro_accuracy", "per_class", "classes", "confusion",
                  "engine", "checkpoint"}, sorted(j)
assert sum(map(sum, j["confusion"])) == j["rows"] and j["classes"] == ["g", "q", "w", "z", "t"]
assert abs(sum(r[i] for i, r in enumerate(j["confusion"])) / j["rows"] - j["micro_accuracy"]) < 1e-12
best = min(csv.DictReader(open(sys.argv[2])), key=lambda r: float(r["val_loss"]))
assert abs(float(best["val_loss"]) - j["loss"]) < 1e-6, (best, j["loss"])
EOF2
fi
"$jscc" test examples/jsc_tiny.jsc --ckpt test/data/ckpt/torch_tiny.safetensors "${small[@]}" >/dev/null 2>&1
check test-no-run-no-file test ! -e test/data/ckpt/test.json
expect test-bad-split 2 "did you mean 'val'?" -- test examples/jsc_tiny.jsc --ckpt x --split vall
expect test-ref 0 "engine: ref" -- test examples/jsc_tiny.jsc --ckpt "$run/best.safetensors" "${small[@]}" --engine ref

# --resume continues to epoch 3 and appends to the metrics.
expect resume 0 "epoch 3/3" -- train examples/jsc_tiny.jsc --max-epochs 3 "${small[@]}" --resume "$run"
check resume-rows bash -c "cut -d, -f1 '$run/metrics.csv' | tail -3 | tr '\n' ' ' | grep -qx '1 2 3 '"
check resume-manifest grep -qF '"resumed_from_epoch": 2' "$run/manifest.json"

# --init: from a previous run's checkpoint, and from a state_dict PyTorch wrote
# (test/data/ckpt/torch_tiny.safetensors, scripts/ckpt_interop.py); init.safetensors then
# holds those weights and the manifest names them.
report() { "$jscc" test examples/jsc_tiny.jsc "${small[@]}" --engine ref --ckpt "$1" | grep -E '^test (loss|accuracy)'; }
same_report() { local a; a=$(report "$1"); [ -n "$a" ] && [ "$a" = "$(report "$2")" ]; }
for src in "$run/best.safetensors" test/data/ckpt/torch_tiny.safetensors; do
  name=init-$(basename "$src" .safetensors)
  expect "$name" 0 "initial weights: $src" -- train examples/jsc_tiny.jsc --max-epochs 1 "${small[@]}" --init "$src" --out "$tmp/$name"
  check "$name-weights" same_report "$src" "$tmp/$name/init.safetensors"
  check "$name-manifest" grep -qE "\"init\": \{\"path\": \"$src\", \"hash\": \"[0-9a-f]{16}\"\}" "$tmp/$name/manifest.json"
done
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then # PyTorch loads it back: exactly its own values
  check init-torch-exact /usr/bin/python3 scripts/ckpt_interop.py check "$tmp/init-torch_tiny/init.safetensors" >/dev/null
else
  echo "train.sh: no PyTorch: skipping the check of init.safetensors against torch's values"
fi
expect init-wrong-model 1 "expected shape" -- train examples/jsc_big.jsc --max-epochs 1 "${small[@]}" --init "$run/best.safetensors" --out "$tmp/init-big"
check init-wrong-leaves-nothing test ! -e "$tmp/init-big"
expect init-missing 1 "cannot open 'no/such.safetensors'" -- train examples/jsc_tiny.jsc "${small[@]}" --init no/such.safetensors --out "$tmp/init-none"

# --task: MASE's CLI names the task; jscc has classification only.
expect task-cls 0 "epoch 1/1" -- train examples/jsc_tiny.jsc --max-epochs 1 "${small[@]}" --task cls --out "$tmp/task"
expect task-classification 0 "test accuracy" -- test examples/jsc_tiny.jsc --ckpt "$tmp/task/best.safetensors" "${small[@]}" --task classification
expect task-other 2 "--task 'regression': jscc trains classifiers only: --task cls (or classification)" -- train examples/jsc_tiny.jsc --task regression
expect task-other-test 2 "jscc tests classifiers only" -- test examples/jsc_tiny.jsc --ckpt x --task lm

# The same seed gives the same bytes; --quiet leaves out the epoch lines.
expect again-1 0 "" -- train examples/jsc_tiny.jsc --max-epochs 2 "${small[@]}" --seed 3 --out "$tmp/s3a" --quiet --engine ref
check quiet bash -c "! grep -q '^epoch ' '$tmp/out' && head -1 '$tmp/out' | grep -q SYNTHETIC"
expect again-2 0 "" -- train examples/jsc_tiny.jsc --max-epochs 2 "${small[@]}" --seed 3 --out "$tmp/s3b" --quiet --engine ref
check same-bytes cmp -s "$tmp/s3a/last.safetensors" "$tmp/s3b/last.safetensors"
check same-optim cmp -s "$tmp/s3a/last.optim.safetensors" "$tmp/s3b/last.optim.safetensors"
check same-metrics bash -c "diff <(cut -d, -f1-6 '$tmp/s3a/metrics.csv') <(cut -d, -f1-6 '$tmp/s3b/metrics.csv') >/dev/null"
expect sgd 0 "epoch 1/1" -- train examples/jsc_tiny.jsc --max-epochs 1 "${small[@]}" --optimizer sgd --lr 0.05 \
  --momentum 0.9 --nesterov --scheduler step --step-size 1 --gamma 0.5 --out "$tmp/sgd"
check sgd-manifest grep -qF '"nesterov": true' "$tmp/sgd/manifest.json"

# --engine auto falls back to the reference executor, saying why, when the jit refuses a
# model (today: a reshape to [B,5,2]); --engine jit then fails without leaving a directory.
printf 'model Pairs {\n    input x: f32[B, 16]\n    fc = Linear(16, 10)\n    fc2 = Linear(2, 1)\n    return fc2(fc(x).view(-1, 5, 2)).view(-1, 5)\n}\n' >"$tmp/pairs.jsc"
if ! "$jscc" train "$tmp/pairs.jsc" --max-epochs 1 "${small[@]}" --engine jit --out "$tmp/pairs-jit" >/dev/null 2>&1; then
  check jit-refusal-leaves-nothing test ! -e "$tmp/pairs-jit"
  if has llvm; then why="codegen: "; else why="the jit engine needs LLVM"; fi
  expect auto-fallback 0 "engine: ref (reference executor; jit unavailable: $why" -- \
    train "$tmp/pairs.jsc" --max-epochs 1 "${small[@]}" --out "$tmp/pairs"
fi

# Usage errors: exit 2.
expect bad-batch 2 "--batch-size" -- train examples/jsc_tiny.jsc --batch-size -3
expect bad-lr 2 "--lr: expected a positive number, got 'abc'" -- train examples/jsc_tiny.jsc --lr abc
expect bad-lr-zero 2 "--lr" -- train examples/jsc_tiny.jsc --lr 0
expect bad-optimizer 2 "did you mean 'adam'?" -- train examples/jsc_tiny.jsc --optimizer adma
expect bad-scheduler 2 "did you mean 'cosine'?" -- train examples/jsc_tiny.jsc --scheduler cosin
expect bad-engine 2 "unknown engine" -- train examples/jsc_tiny.jsc --engine gpu
expect bad-epochs 2 "--max-epochs" -- train examples/jsc_tiny.jsc --max-epochs 1.5
expect bad-seed 2 "--seed" -- train examples/jsc_tiny.jsc --seed -1
expect nesterov-needs-momentum 2 "--nesterov needs --momentum" -- train examples/jsc_tiny.jsc --optimizer sgd --nesterov
expect momentum-sgd-only 2 "sgd only" -- train examples/jsc_tiny.jsc --momentum 0.9
expect missing-value 2 "needs a value" -- train examples/jsc_tiny.jsc --lr
expect unknown-option 2 "unknown option '--frobnicate'" -- train examples/jsc_tiny.jsc --frobnicate
expect no-model 2 "expected a model file" -- train
expect two-models 2 "one model file" -- train examples/jsc_tiny.jsc examples/jsc_big.jsc
expect resume-and-out 2 "drop --out" -- train examples/jsc_tiny.jsc --resume "$run" --out "$tmp/x"
expect test-no-ckpt 2 "--ckpt FILE is required" -- test examples/jsc_tiny.jsc
expect unknown-model 2 "did you mean 'JSC_Tiny'" -- train examples/jsc_tiny.jsc --model JSC_Tiyn
expect train-help 0 "usage: jscc train" -- train --help
expect test-help 0 "usage: jscc test" -- test --help
expect main-help 0 "jscc train MODEL.jsc" -- --help

# Bad input: exit 1.
expect missing-model 1 "cannot open 'no/such.jsc'" -- train no/such.jsc
expect unreadable-data 1 "no/such.h5" -- train examples/jsc_tiny.jsc --data no/such.h5 --out "$tmp/nodata"
expect missing-ckpt 1 "no/such.safetensors" -- test examples/jsc_tiny.jsc --ckpt no/such.safetensors "${small[@]}"
expect wrong-ckpt 1 "expected shape" -- test examples/jsc_big.jsc --ckpt "$run/best.safetensors" "${small[@]}"
expect out-taken 1 "holds a run already" -- train examples/jsc_tiny.jsc "${small[@]}" --out "$run"
expect resume-nothing 1 "no such directory" -- train examples/jsc_tiny.jsc "${small[@]}" --resume "$tmp/empty"
printf 'model Three {\n    input x: f32[B, 16]\n    fc = Linear(16, 3)\n    return fc(x)\n}\n' >"$tmp/three.jsc"
expect not-jsc-classes 1 "must return logits f32[B,5]" -- train "$tmp/three.jsc" "${small[@]}" --out "$tmp/three"
# A softmax before the loss (a double softmax) warns once, at the module; plain logits say nothing.
printf 'model Soft {\n    input x: f32[B, 16]\n    net = Sequential(Linear(16, 5),\n        LogSoftmax(dim=1))\n    return net(x)\n}\n' >"$tmp/soft.jsc"
expect double-softmax 0 "soft.jsc:4:9: warning: model Soft returns the output of log_softmax (net.1), but cross_entropy applies log_softmax itself" -- train "$tmp/soft.jsc" --max-epochs 1 "${small[@]}" --out "$tmp/soft"
check double-softmax-once bash -c "[ \$(grep -c 'warning: model Soft' '$tmp/err') -eq 1 ]"
printf 'model Fn {\n    input x: f32[B, 16]\n    fc = Linear(16, 5)\n    return softmax(fc(x), dim=-1)\n}\n' >"$tmp/fn.jsc"
expect double-softmax-fn 0 "fn.jsc:4:12: warning: model Fn returns the output of softmax (softmax)" -- train "$tmp/fn.jsc" --max-epochs 1 "${small[@]}" --out "$tmp/fn"
printf 'model Plain {\n    input x: f32[B, 16]\n    fc = Linear(16, 5)\n    return fc(x)\n}\n' >"$tmp/plain.jsc"
expect plain-logits 0 "" -- train "$tmp/plain.jsc" --max-epochs 1 "${small[@]}" --out "$tmp/plain"
check plain-logits-quiet bash -c "! grep -qE 'warning|note' '$tmp/err'"
expect huge-feature 1 "out of range" -- train examples/jsc_tiny.jsc --data test/fuzz/crashes/fuzz_data-nonfinite-huge.csv --no-cache --out "$tmp/huge"
if has hdf5; then h5why="H5Dread failed"; else h5why="built without HDF5"; fi
expect corrupt-h5 1 "$h5why" -- train examples/jsc_tiny.jsc --data test/fuzz/crashes/fuzz_data-oom-hdf5-be1707b9 --no-cache --out "$tmp/oom"
echo 'not a safetensors file' >"$tmp/junk.safetensors"
expect junk-ckpt 1 "junk.safetensors" -- test examples/jsc_tiny.jsc --ckpt "$tmp/junk.safetensors" "${small[@]}"

# The GPU backend: the CUDA C of both steps needs no GPU; --device=cuda without one says why.
expect dump-cuda 0 "extern \"C\" __global__" -- train examples/jsc_tiny.jsc --dump-cuda
expect device-engine 2 "--engine jit is a CPU engine" -- train examples/jsc_tiny.jsc --device=cuda --engine jit
expect bad-device 2 "unknown device 'gpu'" -- train examples/jsc_tiny.jsc --device=gpu
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  expect no-gpu 1 "--device=cuda: unavailable: libcuda.so.1 not found" -- train examples/jsc_tiny.jsc --device=cuda "${small[@]}" --out "$tmp/gpu"
  check no-gpu-leaves-nothing test ! -e "$tmp/gpu"
fi

# The pass pipeline is untouched: a subcommand is only ever the first argument.
expect passes-still 0 "Total trainable parameters: 117" -- examples/jsc_tiny.jsc --passes=params

echo "train.sh: $pass passed, $fail failed"
[ $fail -eq 0 ]

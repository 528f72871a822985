#!/usr/bin/env bash
# report.sh JSCC [browser] — `jscc report` over a small sweep made of real `jscc train` runs
# (2 batch sizes x 2 learning rates x 2 seeds on 3000 synthetic jets) with a handwritten
# sweep.json and a results.csv computed from the runs' metrics.csv (spec/sweep.md 2); one
# trial is marked diverged (its losses turned to nan) and one failed; two hand-written emit
# directories (test/data/emit/) beside it give the page its hardware designs.  Checks the page,
# the figures (PNG signature, SVG root element), a single run directory, emit directories
# alone, and bad input (exit 1, the file and line named, no report written) and usage (exit 2).
# With `browser`: loads the page (and a jscc search's) in headless Chromium instead, checks that it logs nothing to
# the console, that every figure loaded with a non-zero size, and takes a screenshot
# (REPORT_SHOT=FILE keeps it, REPORT_KEEP=DIR the sweep); exits 77 (skipped) where Chromium is not installed.
# Run from the source root.
set -u
shopt -s nullglob  # no figures in a build without PLplot
jscc=$1
mode=${2:-cli}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
. "$(dirname "$0")/lib.sh"
check() {
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name"; fi
}

if [ "$mode" = browser ]; then
  chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
  [ -n "$chrome" ] || { echo "SKIP: chromium not installed"; exit 77; }
fi

# ---- the fixture sweep ----
sw=$tmp/sweep
mkdir -p "$sw/trials"
bss=(64 256); lrs=(1e-3 1e-2); seeds=(0 1)
model=examples/jsc_tiny.jsc
id=0
trials=(); keys=()
for bs in "${bss[@]}"; do for lr in "${lrs[@]}"; do for seed in "${seeds[@]}"; do
  key=$(printf '%03d-JSC_Tiny-bs%s-lr%s-seed%s' $id "$bs" "$lr" "$seed")
  keys+=("trials/$key")
  argv=(jscc train "$model" --batch-size "$bs" --lr "$lr" --max-epochs 3 --synth-n 3000 --seed "$seed")
  if [ $id -ne 6 ]; then  # trial 6 "failed" before its first epoch
    "$jscc" train "$model" --batch-size "$bs" --lr "$lr" --max-epochs 3 --synth-n 3000 --seed "$seed" \
      --cache-dir "$tmp/cache" --out "$sw/trials/$key" --quiet >/dev/null 2>"$tmp/err" ||
      { echo "FAIL train $key"; cat "$tmp/err"; exit 1; }
    rm -f "$sw/trials/$key"/*.safetensors
  fi
  js=""; for a in "${argv[@]}"; do js+="${js:+, }\"$a\""; done
  trials+=("    {\"id\": $id, \"dir\": \"trials/$key\", \"model\": 0, \"values\": {\"batch_size\": \"$bs\", \"lr\": \"$lr\", \"seed\": \"$seed\"}, \"argv\": [$js]}")
  id=$((id + 1))
done; done; done
# trial 7 diverged at epoch 2
m7=$(ls -d "$sw"/trials/007-*)/metrics.csv
awk -F, 'BEGIN{OFS=","} NR>2{$2="nan";$4="nan"} {print}' "$m7" >"$tmp/m7" && mv "$tmp/m7" "$m7"
{
  echo '{'
  echo '  "version": 1,'
  echo '  "command": "jscc sweep examples/jsc_tiny.jsc --batch-size 64,256 --lr 1e-3,1e-2 --seed 0,1 --max-epochs 3 --synth-n 3000",'
  echo '  "models": [{"path": "examples/jsc_tiny.jsc", "name": "JSC_Tiny", "hash": "2f1c0dfbc8c3e71c"}],'
  echo '  "axes": ['
  echo '    {"name": "batch_size", "option": "--batch-size", "values": ["64", "256"]},'
  echo '    {"name": "lr", "option": "--lr", "values": ["1e-3", "1e-2"]},'
  echo '    {"name": "seed", "option": "--seed", "values": ["0", "1"]}'
  echo '  ],'
  echo '  "fixed": ["--max-epochs", "3", "--synth-n", "3000"],'
  echo '  "metric": "val_acc",'
  echo '  "trials": ['
  (IFS=$'\n'; echo "${trials[*]}" | sed '$!s/$/,/')
  echo '  ]'
  echo '}'
} >"$sw/sweep.json"
# results.csv from each trial's metrics.csv: best epoch by val_loss, last epoch's accuracies.
{
  echo "id,model,batch_size,lr,seed,status,best_epoch,best_val_loss,best_val_acc,final_train_acc,final_val_acc,test_acc,test_acc_macro,mean_epoch_seconds,samples_per_second,trainable_params,dir"
  id=0
  for bs in "${bss[@]}"; do for lr in "${lrs[@]}"; do for seed in "${seeds[@]}"; do
    d=${keys[$id]}
    case $id in
      6) echo "6,JSC_Tiny,$bs,$lr,$seed,failed,,,,,,,,,,117,$d" ;;
      7) echo "7,JSC_Tiny,$bs,$lr,$seed,diverged,1,$(awk -F, 'NR==2{printf "%.9g,%.9g", $4, $5}' "$sw/$d/metrics.csv"),,,,,,,117,$d" ;;
      *) awk -F, -v id=$id -v bs="$bs" -v lr="$lr" -v seed="$seed" -v d="$d" '
           NR > 1 { if (be == "" || $4 < bv) { bv = $4; be = $1; ba = $5 } ft = $3; fv = $5; s += $7; p += $8; n++ }
           END { printf "%s,JSC_Tiny,%s,%s,%s,ok,%s,%.9g,%.9g,%.9g,%.9g,,,%.9g,%.9g,117,%s\n", id, bs, lr, seed, be, bv, ba, ft, fv, s / n, p / n, d }' \
           "$sw/$d/metrics.csv" ;;
    esac
    id=$((id + 1))
  done; done; done
} >"$sw/results.csv"

# ---- two emit directories of jscc emit (hand-written emit.json: test/data/emit/) ----
em=$tmp/emit
mkdir -p "$em"
cp -r test/data/emit/tiny test/data/emit/wide_est "$em/"

# ---- the report: the sweep, with the designs' section ----
expect report 0 "report.html" -- report "$sw" "$em/tiny" "$em/wide_est"
page=$sw/report.html
check page-written test -s "$page"
nfig=0
for f in "$sw"/figures/*.png; do
  check "png-$(basename "$f")" bash -c "[ \"\$(head -c 8 '$f' | od -An -tx1 | tr -d ' \n')\" = 89504e470d0a1a0a ]"
  nfig=$((nfig + 1))
done
for f in "$sw"/figures/*.svg; do
  check "svg-$(basename "$f")" bash -c "head -c 400 '$f' | grep -q '<svg' && tail -c 20 '$f' | grep -q '</svg>'"
done
has_plplot=yes
grep -q 'Figures need PLplot' "$page" && has_plplot=no  # a build without PLplot says so on the page
if [ "$has_plplot" = no ]; then
  check no-figures-without-plplot test "$nfig" -eq 0
else
  # batch size and lr are swept: all five figures
  for n in epoch_time val_acc_by_batch_size acc_by_lr val_acc_heatmap loss; do
    check "figure-$n" test -s "$sw/figures/$n.svg" -a -s "$sw/figures/$n.png"
    check "figure-$n-inlined" grep -q "id=\"fig-$n\"" "$page"
  done
  check no-accuracy-figure-with-lr-axis test ! -e "$sw/figures/accuracy.svg"
  check figure-acc_luts test -s "$sw/figures/acc_luts.svg" -a -s "$sw/figures/acc_luts.png"
  check figure-acc_luts-inlined grep -q 'id="fig-acc_luts"' "$page"
fi
check hw-section grep -q '<h2 id="hardware">Hardware designs</h2>' "$page"
check hw-synth-luts grep -q '<td>1</td><td>700</td><td>60</td><td>0</td><td>120</td><td>950</td>' "$page"
check hw-estimate-marked grep -q '<td class="est">~21400</td>' "$page"
check hw-verify grep -q '<td class="l failed">differs: 7 of 2000 samples (first at sample 12: layer seq_blocks_4, element 3: 41 against 40)</td>' "$page"
check self-contained bash -c "! grep -Eiq '<(script|link|iframe)|src=\"(https?:|//|figures/)' '$page'"
check best-highlighted grep -q '<tr class="best">' "$page"
check diverged-shown grep -q '<td class="l diverged">diverged</td>' "$page"
check failed-shown grep -q '<td class="l failed">failed</td>' "$page"
check seeds-summary grep -q 'id="seeds"' "$page"
check argv-shown grep -q 'jscc train examples/jsc_tiny.jsc --batch-size 256 --lr 1e-2' "$page"
check data-named grep -q 'SYNTHETIC JSC stand-in' "$page"
check ranked-by grep -q 'final_val_acc (higher is better)' "$page"
expect metric-loss 0 "" -- report "$sw" --metric best_val_loss --out "$tmp/byloss"
check metric-loss-ranked grep -q 'best_val_loss (lower is better)' "$tmp/byloss/report.html"
expect no-figures 0 "" -- report "$sw" --no-figures --out "$tmp/nofig"
check no-figures-note grep -q 'Figures were not drawn' "$tmp/nofig/report.html"

if [ "$mode" = browser ]; then
  # The page as it is: nothing on the console.  Then a copy with a probe script: every
  # image loaded with a non-zero natural size, no error event.
  flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
         --disable-component-update --disable-sync --disable-extensions --user-data-dir="$tmp/profile"
         --virtual-time-budget=10000)
  timeout 120 "$chrome" "${flags[@]}" --enable-logging=stderr --v=0 --window-size=1280,4200 \
    --screenshot="$tmp/shot.png" "file://$page" >"$tmp/chrome.out" 2>"$tmp/chrome.err"
  check browser-screenshot bash -c "[ \"\$(head -c 8 '$tmp/shot.png' | od -An -tx1 | tr -d ' \n')\" = 89504e470d0a1a0a ]"
  check browser-no-console-messages bash -c "! grep -E 'CONSOLE|Uncaught|Failed to load' '$tmp/chrome.err'"
  [ -n "${REPORT_SHOT:-}" ] && cp "$tmp/shot.png" "$REPORT_SHOT"
  [ -n "${REPORT_KEEP:-}" ] && rm -rf "$REPORT_KEEP" && cp -r "$sw" "$REPORT_KEEP"
  probe='<script>var errs=[];addEventListener("error",function(e){errs.push(e.message||("load "+(e.target&&e.target.tagName)))},true);
addEventListener("load",function(){var im=document.images,bad=0;for(var i=0;i<im.length;i++)if(!im[i].complete||!im[i].naturalWidth)bad++;
var p=document.createElement("pre");p.id="probe";p.textContent="images="+im.length+" broken="+bad+" errors="+errs.length;document.body.appendChild(p)});</script>'
  awk -v probe="$probe" '{print} /<head>/{print probe}' "$page" >"$sw/probe.html"
  timeout 120 "$chrome" "${flags[@]}" --dump-dom "file://$sw/probe.html" >"$tmp/dom.html" 2>"$tmp/chrome2.err"
  got=$(sed -n 's/.*<pre id="probe">\([^<]*\)<.*/\1/p' "$tmp/dom.html")
  check "browser-probe ($got)" test "$got" = "images=$nfig broken=0 errors=0"
  echo "browser: $got"
  # a jscc search's page: its three figures inline, nothing on the console
  "$jscc" train "$model" --max-epochs 1 --synth-n 3000 --cache-dir "$tmp/cache" --out "$tmp/sfloat" --quiet >/dev/null 2>&1
  "$jscc" search "$model" --ckpt "$tmp/sfloat/best.safetensors" --config test/data/search/search_toy_tpe.toml \
    --n-trials 6 --synth-n 3000 --cache-dir "$tmp/cache" --out "$tmp/search" --quiet >/dev/null 2>&1
  timeout 120 "$chrome" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$tmp/search/report.html" \
    >"$tmp/sdom.html" 2>"$tmp/chrome3.err"
  check browser-search-figures bash -c "[ \$(grep -o '<svg' '$tmp/sdom.html' | wc -l) -ge 3 ] && grep -q 'Pareto front' '$tmp/sdom.html'"
  check browser-search-no-console-messages bash -c "! grep -E 'CONSOLE|Uncaught|Failed to load' '$tmp/chrome3.err'"
  echo "pass $pass fail $fail"
  [ $fail -eq 0 ]
  exit
fi

# ---- one run directory: its accuracy and loss curves ----
run=$(ls -d "$sw"/trials/000-*)
expect single-run 0 "" -- report "$run" --out "$tmp/single"
if [ "$has_plplot" = yes ]; then
  check single-run-accuracy test -s "$tmp/single/figures/accuracy.svg"
  check single-run-loss test -s "$tmp/single/figures/loss.png"
  check single-run-no-bs-figure test ! -e "$tmp/single/figures/epoch_time.svg"
fi
expect two-runs 0 "" -- report "$run" "$(ls -d "$sw"/trials/002-*)" --out "$tmp/two"
check two-runs-lr-axis grep -q 'lr &isin; {0.001, 0.01}' "$tmp/two/report.html"
cp "$tmp/two/report.html" /tmp/two.html

# ---- emit directories alone: the hardware section only, written into the first ----
expect emit-only 0 "report: $em/tiny/report.html" -- report "$em/tiny" "$em/wide_est"
hw=$em/tiny/report.html
check emit-only-section grep -q 'id="hardware"' "$hw"
check emit-only-no-trials bash -c "! grep -Eq 'id=\"(results|seeds|figures|commands)\"' '$hw'"
check emit-only-ice40 grep -q '<td class="l">hx8k-ct256</td><td>61.3</td><td>16.3</td>' "$hw"
check emit-only-self-contained bash -c "! grep -Eiq '<(script|link|iframe)|src=\"(https?:|//|figures/)' '$hw'"
if [ "$has_plplot" = yes ]; then
  check emit-only-figure test -s "$em/tiny/figures/acc_luts.svg" -a -s "$em/tiny/figures/acc_luts.png"
  check emit-only-estimate-caption grep -q 'Designs marked (estimate) were not synthesized' "$hw"
fi
check emit-only-nothing-in-second test ! -e "$em/wide_est/report.html"
cp -r "$em/tiny" "$tmp/badem" && rm -rf "$tmp/badem/report.html" "$tmp/badem/figures"
sed -i 's/"fmax_mhz": 61.3/"fmax_mhz": "fast"/' "$tmp/badem/emit.json"
expect emit-bad-field 1 "emit.json:12:" -- report "$em/wide_est" "$tmp/badem"
check emit-bad-field-name grep -q "'synth.ice40.fmax_mhz': expected a number or null" "$tmp/err"
check emit-bad-nothing-written test ! -e "$em/wide_est/report.html" -a ! -e "$tmp/badem/report.html"
echo '{"model": "m", "top": ' >"$tmp/badem/emit.json"
expect emit-bad-json 1 "emit.json:2:1: error: unexpected end of emit.json" -- report "$tmp/badem"

# ---- bad input: exit 1, the file named, nothing written ----
bad=$tmp/bad
reset_bad() { rm -rf "$bad"; cp -r "$sw" "$bad"; rm -rf "$bad/report.html" "$bad/figures"; }
reset_bad
sed -i '3s/,ok,/,fine,/' "$bad/results.csv"
expect bad-status 1 "results.csv:3:" -- report "$bad"
check bad-status-message grep -q "status: expected ok, diverged or failed, got 'fine'" "$tmp/err"
check bad-nothing-written test ! -e "$bad/report.html" -a ! -e "$bad/figures"
reset_bad
sed -i '4s/,ok,\([0-9]*\),/,ok,\1,x1.5/' "$bad/results.csv"
expect bad-number 1 "column 'best_val_loss': expected a number" -- report "$bad"
check bad-number-line grep -q 'results.csv:4:' "$tmp/err"
reset_bad
sed -i '2s/,[^,]*$//' "$bad/results.csv"
expect bad-fields 1 "expected 17 fields (as the header has), got 16" -- report "$bad"
reset_bad
sed -i 's/"option": "--lr"/"option": 5/' "$bad/sweep.json"
expect bad-sweep-field 1 "sweep.json:7:" -- report "$bad"
check bad-sweep-field-name grep -q "'axes\[1\].option': expected a string" "$tmp/err"
reset_bad
echo '{"version": 1,' >"$bad/sweep.json"
expect bad-sweep-json 1 "sweep.json:2:" -- report "$bad"
reset_bad
m=$(ls -d "$bad"/trials/001-*)/metrics.csv
sed -i '3s/^2,/5,/' "$m"
expect bad-metrics 1 "metrics.csv:3:1: error: expected epoch 2, got '5'" -- report "$bad"
check bad-nothing-written-2 test ! -e "$bad/report.html"
expect missing-dir 1 "'$tmp/nope': not a directory" -- report "$tmp/nope"
mkdir -p "$tmp/empty"
expect neither 1 "is neither a sweep (sweep.json) nor a run directory" -- report "$tmp/empty"
expect sweep-not-alone 1 "is a sweep: report on it alone" -- report "$sw" "$run"

# ---- usage: exit 2 ----
expect no-dir 2 "expected a sweep, run, emit or search directory" -- report
expect bad-metric 2 "unknown metric 'val_ac' (did you mean 'val_acc'?)" -- report "$sw" --metric val_ac
expect bad-option 2 "unknown option '--bogus'" -- report "$sw" --bogus
expect help 0 "usage: jscc report" -- report --help

echo "pass $pass fail $fail"
[ $fail -eq 0 ]

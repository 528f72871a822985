#!/usr/bin/env bash
# scripts/accuracy_vs_torch.sh [MODEL] [EPOCHS] — the issue's accuracy check: `jscc train` and
# PyTorch 1.13 on the same data (jscc's own cache of the bundled synthetic set), model, batch
# size 256, Adam lr 1e-3, cosine schedule, and the same initial weights (PyTorch loads the
# run's init.safetensors) for seeds 0..SEEDS-1; prints both validation accuracies per seed,
# the mean gap, and exits 1 when the mean gap is over one point.  (jsc_tiny ends in a ReLU on
# the logits, as MASE's does, so a seed can kill a class for good: one seed alone is noise.)  Needs /usr/bin/python3 with torch
# (apt-get install python3-torch).  Run from the source root after building (build/).
set -euo pipefail
model=${1:-jsc_tiny}
epochs=${2:-10}
seeds=${3:-3}
jscc=${JSCC:-build/tools/jscc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gaps=()
for ((seed = 0; seed < seeds; seed++)); do
  "$jscc" train "examples/$model.jsc" --batch-size 256 --lr 1e-3 --max-epochs "$epochs" --seed "$seed" \
    --cache-dir "$tmp/cache" --out "$tmp/run$seed" --quiet >/dev/null
  cache=$(ls "$tmp"/cache/* | head -1)
  jacc=$(tail -1 "$tmp/run$seed/metrics.csv" | cut -d, -f5)
  tacc=$(/usr/bin/python3 scripts/torch_accuracy.py --cache "$cache" --model "$model" --epochs "$epochs" \
           --seed "$seed" --init "$tmp/run$seed/init.safetensors" | awk '/final val_acc/ {print $4}')
  gap=$(python3 -c "print(f'{100 * ($jacc - $tacc):+.2f}')")
  echo "seed $seed: jscc val_acc $jacc  torch val_acc $tacc  gap $gap points"
  gaps+=("$gap")
done
python3 - "${gaps[@]}" <<'PY'
import sys
g = [float(x) for x in sys.argv[1:]]
m = sum(g) / len(g)
print(f"mean gap {m:+.2f} points over {len(g)} seeds")
sys.exit(0 if abs(m) <= 1.0 else 1)
PY

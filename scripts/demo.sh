#!/usr/bin/env bash
# scripts/demo.sh [MODEL.jsc] — set up, build and run jscc's main job on a bundled example:
# the graph report, then train the model on the bundled JSC data (a deterministic SYNTHETIC
# stand-in for the real data set, which cannot be downloaded here; --data FILE takes the real
# CERN HDF5 file or the OpenML CSV/ARFF), then evaluate the best checkpoint on the test split.
# Quantization (`jscc transform`) joins this job with the quantization work.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
model=${1:-examples/jsc_tiny.jsc}
run=runs/demo-$(basename "$model" .jsc)-$(date +%Y%m%d-%H%M%S)
set -x
build/tools/jscc "$model" --passes=report-graph,params
build/tools/jscc train "$model" --batch-size 256 --lr 1e-3 --max-epochs 10 --seed 0 --out "$run"
build/tools/jscc test "$model" --ckpt "$run/best.safetensors"

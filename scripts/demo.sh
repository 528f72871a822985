#!/usr/bin/env bash
# scripts/demo.sh [MODEL.jsc] — set up, build and run jscc's main job on a bundled example:
# parse the model, infer shapes, attach MASE metadata and print the graph report and the
# parameter table.  (Training and quantization arrive with the CPU-training and quantization
# work; this script will run them once they exist.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
model=${1:-examples/jsc_tiny.jsc}
set -x
build/tools/jscc "$model" --passes=shape,metadata,report-graph,params

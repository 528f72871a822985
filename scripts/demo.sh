#!/usr/bin/env bash
# scripts/demo.sh [MODEL.jsc] — set up, build and run jscc's main job on a bundled example:
# the graph report, then train the model on the bundled JSC data (a deterministic SYNTHETIC
# stand-in for the real data set, which cannot be downloaded here; --data FILE takes the real
# CERN HDF5 file or the OpenML CSV/ARFF), evaluate the best checkpoint on the test split,
# quantize it (Lab 2: `jscc transform` with MASE's own TOML, every Linear to 8-bit fixed
# point) and evaluate the quantized model; then check, with everything quantized to int8, that
# the fake-quant, float32 JIT and integer-only executors agree (`jscc diff`).
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
build/tools/jscc transform "$model" --ckpt "$run/best.safetensors" --config examples/configs/jsc_tiny_by_type.toml --out "$run/int8"
build/tools/jscc test "$run/int8/model.ir" --ckpt "$run/int8/quantized.safetensors"
build/tools/jscc diff "$model" --ckpt "$run/best.safetensors" --config examples/configs/int8_all.toml --samples 4096

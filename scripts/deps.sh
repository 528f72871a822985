#!/usr/bin/env bash
# scripts/deps.sh [EXTRA-PACKAGE...] — install the Debian packages jscc needs to build and
# test, plus any extra ones named (the benchmark adds PyTorch and OpenBLAS); idempotent.
set -euo pipefail
pkgs=(gcc clang libclang-rt-14-dev llvm-14-dev meson ninja-build pkg-config flex bison libcmocka-dev libhdf5-dev libpcre2-dev graphviz time
      libplplot-dev plplot-driver-cairo chromium libopenmpi-dev openmpi-bin
      verilator g++ make iverilog yosys nextpnr-ice40 "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

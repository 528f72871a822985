#!/usr/bin/env bash
# bench/hw_calibrate.sh — refits codegen/hwcost.c's coefficients against yosys.
#
#   bash bench/hw_calibrate.sh [DIR] [-j N]
#   bash bench/hw_calibrate.sh [--abs] --emit EMIT_DIR...
#
# --emit: the designs jscc emit rendered and synthesized (`jscc emit ... --synth xilinx,ice40`,
# e.g. the directories `bench/hw_bench.sh --keep DIR` leaves): each emit.json holds every
# layer's counts and yosys' counts of its module for both families, so nothing is
# synthesized again.  Otherwise:
#
# DIR holds designs as NAME.v (layer modules and the top NAME, hdl.h's shape) with
# NAME.layers beside each (one line per layer module: module adders adder_bits multipliers
# mult_bits reg_bits, the CgHwLayer counts).  Without DIR the designs of
# bench/hw_calib_gen.py (seed 1) and test/data/hw/mac2.v are used.  Once codegen/verilog.c
# renders the bench models, write each CgHwDesign's verilog and its layers' counts in this
# form and rerun on them.
#
# Each design goes through the same yosys scripts as hw/synth.c (synth_xilinx -family xc7;
# synth_ice40 -noflatten), the per-module cell counts classed as hw/synth.c classes them.
# Prints one CSV row per layer module and family, then the least-squares fit without
# intercept, each layer weighted by 1 / its count (the relative error is minimized; --abs:
# unweighted, the absolute error, so that the big layers and the designs' totals fit), of
#   Xilinx  LUT = a * adder_bits - b * mult_bits      carry = c * adder_bits
#   iCE40   LUT = a * adder_bits + b * pp_bits        carry = c * adder_bits
# (pp_bits = multipliers * (mult_bits / multipliers / 2)^2, the soft multipliers' partial
# products; on Xilinx each DSP absorbs an adder about as wide as its operands), with the mean
# and largest relative error of the fit and of the coefficients now in codegen/hwcost.c.
# Needs yosys, python3 (for the default designs) and awk.  About 3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=2
dir=""
emit=()
weight=rel  # --abs: least squares of the absolute error (big layers count most: the totals)
while [ $# -gt 0 ]; do
  case "$1" in
    -j) jobs="$2"; shift 2 ;;
    --abs) weight=abs; shift ;;
    --emit) shift; emit=("$@"); break ;;
    *) dir="$1"; shift ;;
  esac
done
work=$(mktemp -d /tmp/jscc_hw_cal.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ ${#emit[@]} -gt 0 ]; then
  # layers: "module adders adder_bits multipliers mult_bits reg_bits"; counts: "family module lut ff dsp carry"
  python3 - "$work" "${emit[@]}" <<'PY'
import json, sys
work, dirs = sys.argv[1], sys.argv[2:]
with open(work + "/layers", "w") as L, open(work + "/counts", "w") as C:
    for d in dirs:
        j = json.load(open(d + "/emit.json"))
        tag = d.rstrip("/").split("/")[-1].replace("-", "_")
        for l in j.get("design", {}).get("layers", []):
            fams = [f for f in ("xilinx", "ice40") if f in l]
            if not fams: continue
            m = tag + "." + l["module"]
            L.write("%s %d %d %d %d %d\n" % (m, l["adders"], l["adder_bits"], l["multipliers"], l["mult_bits"], l["reg_bits"]))
            for f in fams:
                c = l[f]
                C.write("%s %s %d %d %d %d\n" % (f, m, c["lut"], c["ff"], c["dsp"], c["carry"]))
PY
fi
if [ ${#emit[@]} -gt 0 ]; then :
elif [ -z "$dir" ]; then
  python3 bench/hw_calib_gen.py "$work/designs" 1
  cp test/data/hw/mac2.v "$work/designs/"
  printf 'mac2_fc1 11 132 0 0 36\nmac2_fc2 4 64 2 39 0\n' > "$work/designs/mac2.layers"
  dir="$work/designs"
fi

# One design, one family: its modules' counts as "family module lut ff dsp carry" lines.
synth_one() {
  local v="$1" fam="$2" work="$3"
  local top; top=$(basename "$v" .v)
  local d="$work/$top.$fam"
  mkdir -p "$d"
  cp "$v" "$d/"
  if [ "$fam" = xilinx ]; then
    printf 'read_verilog %s.v\nsynth_xilinx -family xc7 -top %s\ntee -q -o %s.stat stat -top %s\n' "$top" "$top" "$top" "$top" > "$d/s.ys"
  else
    printf 'read_verilog %s.v\nsynth_ice40 -noflatten -top %s\ntee -q -o %s.stat stat -top %s\n' "$top" "$top" "$top" "$top" > "$d/s.ys"
  fi
  (cd "$d" && yosys -q -s s.ys > yosys.log 2>&1) || { echo "yosys failed on $v ($fam): $d/yosys.log" >&2; return 1; }
  awk -v fam="$fam" '
    /^=== .* ===$/ { mod = $2; cells = 0; next }
    /Number of cells:/ { cells = 1; next }
    cells && NF == 2 {
      c = $1; n = $2; k = ""
      if (fam == "ice40") {
        if (c == "SB_LUT4") k = "lut"; else if (c ~ /^SB_DFF/) k = "ff"
        else if (c == "SB_MAC16") k = "dsp"; else if (c == "SB_CARRY") k = "carry"
      } else {
        if (c ~ /^LUT[1-6]$/ || c ~ /^SRLC?(16|32)E$/) k = "lut"; else if (c ~ /^FD/ && length(c) <= 6) k = "ff"
        else if (c ~ /^DSP48E[12]$/) k = "dsp"; else if (c == "CARRY4" || c == "CARRY8") k = "carry"
      }
      if (k != "") cnt[mod, k] += n
      seen[mod] = 1
      next
    }
    NF == 0 { cells = 0 }
    END { for (m in seen) printf "%s %s %d %d %d %d\n", fam, m, cnt[m, "lut"], cnt[m, "ff"], cnt[m, "dsp"], cnt[m, "carry"] }
  ' "$d/$top.stat" > "$d/counts"
}
export -f synth_one

if [ ${#emit[@]} -eq 0 ]; then
  ls "$dir"/*.v | while read -r v; do
    [ -f "${v%.v}.layers" ] && { echo "$v xilinx $work"; echo "$v ice40 $work"; }
  done | xargs -P "$jobs" -n 3 bash -c 'synth_one "$@"' _
  cat "$dir"/*.layers > "$work/layers"
  cat "$work"/*/counts > "$work/counts"
fi
# the coefficients codegen/hwcost.c holds now, to report their error beside the fit's
coef() { sed -n "s/^#define $1 \([0-9.]*\).*/\1/p" codegen/hwcost.c; }
awk -v WEIGHT="$weight" -v BIG=1000 -v xl="$(coef XC_LUT_PER_ADDER_BIT)" -v xlm="$(coef XC_LUT_SAVED_PER_MULT_BIT)" -v xc="$(coef XC_CARRY_PER_ADDER_BIT)" \
    -v il="$(coef ICE_LUT_PER_ADDER_BIT)" -v ilp="$(coef ICE_LUT_PER_PP_BIT)" -v ic="$(coef ICE_CARRY_PER_ADDER_BIT)" '
  NR == FNR { A[$1] = $3; M[$1] = $4; MB[$1] = $5; R[$1] = $6; next }
  ($2 in A) {
    f = $1; m = $2; k = ++n[f]
    row[f, k] = m; a[f, k] = A[m]; mb[f, k] = MB[m]; p[f, k] = M[m] > 0 ? M[m] * (MB[m] / M[m] / 2) ^ 2 : 0
    y["lut", f, k] = $3; ff[f, k] = $4; dsp[f, k] = $5; y["carry", f, k] = $6; reg[f, k] = R[m]
  }
  function x2(f, k, second) { return second == "pp" ? p[f, k] : second == "mb" ? mb[f, k] : 0 }
  # least squares of the relative error (rows weighted by 1/y): y = U * adder_bits + V * second
  function fit(f, which, second,   k, w, u, v, yy, saa, sav, svv, say, svy, det) {
    saa = sav = svv = say = svy = 0
    for (k = 1; k <= n[f]; k++) {
      yy = y[which, f, k]
      if (yy == 0) continue
      w = WEIGHT == "abs" ? 1 / BIG : 1 / yy; u = a[f, k] * w; v = x2(f, k, second) * w
      saa += u * u; sav += u * v; svv += v * v; say += u * yy * w; svy += v * yy * w
    }
    det = saa * svv - sav * sav
    if (svv == 0 || det == 0) { U = say / saa; V = 0 } else { U = (say * svv - svy * sav) / det; V = (saa * svy - sav * say) / det }
  }
  # mean and largest relative error of u * adder_bits + v * second
  function err(f, which, second, u, v,   k, yy, e, s, c) {
    s = c = MX = 0
    for (k = 1; k <= n[f]; k++) {
      yy = y[which, f, k]
      if (yy == 0) continue
      e = (u * a[f, k] + v * x2(f, k, second) - yy) / yy; e = e < 0 ? -e : e
      s += e; c++; if (e > MX) MX = e
    }
    return c ? s / c : 0
  }
  # mean and largest relative error of the totals per design (a module is DESIGN.MODULE)
  function err_total(f, which, second, u, v,   k, dn, e, s, c, est, act) {
    split("", est); split("", act)
    for (k = 1; k <= n[f]; k++) {
      dn = row[f, k]; sub(/\..*/, "", dn)
      est[dn] += u * a[f, k] + v * x2(f, k, second); act[dn] += y[which, f, k]
    }
    s = c = TMX = 0
    for (dn in act) if (act[dn] > 0) { e = (est[dn] - act[dn]) / act[dn]; e = e < 0 ? -e : e; s += e; c++; if (e > TMX) TMX = e }
    return c ? s / c : 0
  }
  function report(f, which, second, u0, v0,   m, mx, m0, t, tmx, t0) {
    fit(f, which, second)
    m = err(f, which, second, U, V); mx = MX; t = err_total(f, which, second, U, V); tmx = TMX
    m0 = err(f, which, second, u0, v0); t0 = err_total(f, which, second, u0, v0)
    printf "%s %s = %.4f * adder_bits %+.4f * %s: per layer mean |error| %.1f%%, max %.1f%%; per design mean %.1f%%, max %.1f%%\n", \
      f, which, U, V, second == "pp" ? "pp_bits" : second == "mb" ? "mult_bits" : "0", 100 * m, 100 * mx, 100 * t, 100 * tmx
    printf "    (hwcost.c now: %.4f, %+.4f: per layer mean %.1f%%, max %.1f%%; per design mean %.1f%%, max %.1f%%)\n", \
      u0, v0, 100 * m0, 100 * MX, 100 * t0, 100 * TMX
  }
  END {
    print "family,module,adder_bits,mult_bits,pp_bits,reg_bits,lut,ff,dsp,carry"
    for (f in n) for (k = 1; k <= n[f]; k++)
      printf "%s,%s,%d,%d,%.1f,%d,%d,%d,%d,%d\n", f, row[f, k], a[f, k], mb[f, k], p[f, k], reg[f, k], y["lut", f, k], ff[f, k], dsp[f, k], y["carry", f, k]
    print ""
    report("xilinx", "lut", "mb", xl, -xlm); report("xilinx", "carry", "", xc, 0)
    report("ice40", "lut", "pp", il, ilp); report("ice40", "carry", "", ic, 0)
  }' "$work/layers" "$work/counts"

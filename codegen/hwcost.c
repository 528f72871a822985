/* codegen/hwcost.c — an analytic estimate of a design's LUTs, flip-flops, DSPs and carry
 * cells as yosys maps it (codegen/hdl.h, cg_hw_estimate): the search's per-trial cost metric,
 * where running yosys (seconds to minutes) is not affordable.
 *
 * Per layer, from the renderer's own counts (CgHwLayer): A = adder_bits (the summed widths
 * of its two-input adders), M = multipliers, B = mult_bits (their operand bits, a +
 * constant), pp = M * (B / M / 2)^2 (a multiplier's partial-product bits when its operands
 * share B evenly), R = reg_bits.
 *   Xilinx (synth_xilinx -family xc7; yosys maps every `*` to DSP48E1s):
 *     lut   = max(0, XC_LUT_PER_ADDER_BIT * A - XC_LUT_SAVED_PER_MULT_BIT * B)
 *     carry = XC_CARRY_PER_ADDER_BIT * A
 *     dsp   = M * ceil(B / M / XC_DSP_OPERAND_BITS)^2
 *   iCE40 (synth_ice40 without -dsp: multipliers become LUTs and carries):
 *     lut   = ICE_LUT_PER_ADDER_BIT * A + ICE_LUT_PER_PP_BIT * pp
 *     carry = ICE_CARRY_PER_ADDER_BIT * A
 *     dsp   = 0
 *   ff = R on both.  The total adds the top's valid pipeline (h->latency flip-flops).
 *
 * First principles said 1 LUT and 1/4 CARRY4 (Xilinx) or 1 SB_LUT4 and 1 SB_CARRY (iCE40) per
 * adder bit.  yosys does otherwise: alumacc merges each adder tree into one $macc, which
 * maccmap and abc turn mostly into LUT logic (compressors), leaving carry chains only for the
 * final additions; and on Xilinx each DSP48E1 takes an adder into its post-adder (about as
 * wide as the multiplier's operands: the negative B term).  Hence the fit below.
 *
 * The fit: `bash bench/hw_calibrate.sh --abs --emit DIR...` (yosys 0.23, 2026-12-07) on the
 * designs jscc emit rendered for bench/hw_bench.sh and the tests: jsc_tiny at 8, 6 and 4 bits and
 * jsc_big at 8, 6 and 4 bits; unweighted least squares without intercept, so that the big
 * layers, and with them the designs' totals, fit.  Checked on all nine designs of
 * bench/hw_bench.sh (hls4ml_jsc at 8, 6 and 4 bits, up to 84,000 LUTs, were not in the fit;
 * bench/results/hw_calibrate_2026-12-07-emit.txt), errors |estimate - yosys| / yosys:
 *                 per design (what a search ranks by)    per layer module
 *   Xilinx LUT    mean 14%, max 36%                      large on small layers (a clamp of
 *   Xilinx CARRY  mean 11%, max 23%                      a few bits may be 2 LUTs or 20)
 *   iCE40 LUT     mean  3%, max  7% (4 designs)          mean 14%, max 45%
 *   iCE40 CARRY   mean 27%, max 32% (4 designs)
 *   DSP and FF exact (FF: one less where yosys finds a register bit constant).
 * Refitting on all nine moves the Xilinx LUT coefficients towards hls4ml at 8 bits and makes
 * the others worse (mean 18%, max 40%): kept as they are.  The Xilinx LUT count is the weakest:
 * LUT6s pack a narrow adder tree's bits unevenly, which a count of adder bits cannot see.  Rank
 * designs with it; quote yosys (jscc emit --synth).  The first fit (15 modules of generated
 * designs imitating the renderer) was off by 65% per design on these; the file
 * bench/results/hw_calibrate_2026-12-07.txt keeps it. */
#include <math.h>

#include "hdl.h"

#define XC_LUT_PER_ADDER_BIT 0.7408
#define XC_LUT_SAVED_PER_MULT_BIT 0.0407 /* the adder a DSP48E1's post-adder absorbs */
#define XC_CARRY_PER_ADDER_BIT 0.0904
#define XC_DSP_OPERAND_BITS 43.0          /* 25 + 18: one DSP48E1 per multiplier up to this */

#define ICE_LUT_PER_ADDER_BIT 1.0538
#define ICE_LUT_PER_PP_BIT 0.7945
#define ICE_CARRY_PER_ADDER_BIT 0.2513

/* A multiplier's partial-product bits: (m/2)^2 for m operand bits shared evenly. */
static double pp_bits(const CgHwLayer *l) {
  if (l->multipliers <= 0) return 0;
  double m = (double)l->mult_bits / (double)l->multipliers;
  return (double)l->multipliers * (m / 2) * (m / 2);
}

static CgHwCost layer_cost(const CgHwLayer *l, int family) {
  double a = (double)l->adder_bits, b = (double)l->mult_bits;
  CgHwCost c = {.ff = (double)l->reg_bits};
  if (family == 1) { /* HW_ICE40 */
    c.lut = ICE_LUT_PER_ADDER_BIT * a + ICE_LUT_PER_PP_BIT * pp_bits(l);
    c.carry = ICE_CARRY_PER_ADDER_BIT * a;
    return c;
  }
  c.lut = fmax(0, XC_LUT_PER_ADDER_BIT * a - XC_LUT_SAVED_PER_MULT_BIT * b);
  c.carry = XC_CARRY_PER_ADDER_BIT * a;
  if (l->multipliers > 0) {
    double per = ceil((double)l->mult_bits / (double)l->multipliers / XC_DSP_OPERAND_BITS);
    c.dsp = (double)l->multipliers * per * per;
  }
  return c;
}

void cg_hw_estimate(const CgHwDesign *h, int family, CgHwCost *per_layer, CgHwCost *total) {
  CgHwCost sum = {.ff = h->latency > 0 ? h->latency : 0}; /* the top's valid pipeline */
  for (int i = 0; i < h->nlayers; i++) {
    CgHwCost c = layer_cost(&h->layers[i], family);
    if (per_layer) per_layer[i] = c;
    sum.lut += c.lut;
    sum.ff += c.ff;
    sum.dsp += c.dsp;
    sum.carry += c.carry;
  }
  if (total) *total = sum;
}

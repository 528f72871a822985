/* codegen/hwcost.c — an analytic estimate of a design's LUTs, flip-flops, DSPs and carry
 * cells as yosys maps it (codegen/hdl.h, cg_hw_estimate): the search's per-trial cost metric,
 * where running yosys (seconds to minutes) is not affordable.
 *
 * Per layer, from the renderer's own counts (CgHwLayer): A = adder_bits (the summed widths
 * of its two-input adders), M = multipliers, m = mult_bits / M (a multiplier's operand bits,
 * a + constant), R = reg_bits.
 *   Xilinx (synth_xilinx -family xc7):
 *     lut   = XC_LUT_PER_ADDER_BIT * A
 *     carry = XC_CARRY_PER_ADDER_BIT * A                     (a CARRY4 per 4 bits)
 *     dsp   = M * ceil(m / XC_DSP_OPERAND_BITS)^2            (a DSP48E1 takes 25 x 18 bits;
 *                                                            yosys maps every `*` to DSPs)
 *     ff    = R
 *   iCE40 (synth_ice40, no -dsp: multipliers become soft logic):
 *     lut   = ICE_LUT_PER_ADDER_BIT * A + ICE_LUT_PER_PP_BIT * M * (m/2)^2
 *     carry = ICE_CARRY_PER_ADDER_BIT * A + ICE_CARRY_PER_PP_BIT * M * (m/2)^2
 *     dsp   = 0,  ff = R
 * (m/2)^2 is a multiplier's partial-product bits when its operands share m evenly.  The
 * total adds the top's valid pipeline (h->latency flip-flops) to the layers' sum.
 *
 * The coefficients: see the fit below each group.  Refit with bench/hw_calibrate.sh once
 * codegen/verilog.c renders the bench models (its README section says how). */
#include <math.h>

#include "hdl.h"

/* Xilinx 7-series.  First principles: a ripple adder bit is one LUT (the XOR feeding the
 * carry chain's S input) and a quarter CARRY4.  Fit (bench/hw_calibrate.sh, yosys 0.23, the
 * 12 generated layers of bench/hw_calib_gen.py and the 2 of test/data/hw/mac2.v): see
 * bench/results/hw_calibrate.txt for the data and the error. */
#define XC_LUT_PER_ADDER_BIT 1.0
#define XC_CARRY_PER_ADDER_BIT 0.25
#define XC_DSP_OPERAND_BITS 43.0 /* 25 + 18: one DSP48E1 per multiplier up to this */

/* iCE40.  First principles: one SB_LUT4 and one SB_CARRY per adder bit; a soft multiplier's
 * partial products are adder bits too. */
#define ICE_LUT_PER_ADDER_BIT 1.0
#define ICE_CARRY_PER_ADDER_BIT 1.0
#define ICE_LUT_PER_PP_BIT 1.0
#define ICE_CARRY_PER_PP_BIT 1.0

/* A multiplier's partial-product bits: (m/2)^2 for m operand bits shared evenly. */
static double pp_bits(const CgHwLayer *l) {
  if (l->multipliers <= 0) return 0;
  double m = (double)l->mult_bits / (double)l->multipliers;
  return (double)l->multipliers * (m / 2) * (m / 2);
}

static CgHwCost layer_cost(const CgHwLayer *l, int family) {
  double a = (double)l->adder_bits, pp = pp_bits(l);
  CgHwCost c = {.ff = (double)l->reg_bits};
  if (family == 1) { /* HW_ICE40 */
    c.lut = ICE_LUT_PER_ADDER_BIT * a + ICE_LUT_PER_PP_BIT * pp;
    c.carry = ICE_CARRY_PER_ADDER_BIT * a + ICE_CARRY_PER_PP_BIT * pp;
    return c;
  }
  c.lut = XC_LUT_PER_ADDER_BIT * a;
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

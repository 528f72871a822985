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
 * The fit: bench/hw_calibrate.sh (yosys 0.23, 2026-12-07), 15 layer modules: the 13 of
 * bench/hw_calib_gen.py's six generated designs (4 to 16 inputs, 2 to 16 outputs, 3- to
 * 8-bit weights, A from 93 to 2599 bits, two layers with 8 and 14 multipliers) and the 2 of
 * test/data/hw/mac2.v; least squares of the relative error, no intercept.  Data and output in
 * bench/results/hw_calibrate_2026-12-07.txt.  Errors per layer (|estimate - yosys| / yosys):
 *   Xilinx LUT   mean  8.7%, max 18.2%     (first principles: mean  15.6%, max 113%)
 *   Xilinx CARRY mean 25.8%, max 60.8%     (0.25 per bit:     mean   208%, max 448%)
 *   iCE40 LUT    mean  6.8%, max 16.3%     (first principles: mean  20.5%, max 33.7%)
 *   iCE40 CARRY  mean 19.6%, max 43.2%     (1 per bit:        mean   337%, max 560%)
 *   DSP and FF exact on all 15 (one FF less where yosys found a register bit constant).
 * Those are in-sample.  Leaving each design out of the fit in turn and predicting its layers:
 * Xilinx LUT mean 23.9%, max 218% (only 3 layers have multipliers, so the B term rests on
 * them: mac2_fc2, 64 adder bits beside 2 DSPs, is the outlier), Xilinx CARRY 28.9% / 76.8%,
 * iCE40 LUT 8.5% / 17.1%, iCE40 CARRY 20.9% / 45.2%.  The designs are written in the
 * renderer's style, not by it: refit when codegen/verilog.c renders the bench models
 * (bench/hw_calibrate.sh DIR says how). */
#include <math.h>

#include "hdl.h"

#define XC_LUT_PER_ADDER_BIT 1.0557
#define XC_LUT_SAVED_PER_MULT_BIT 0.9476 /* the adder a DSP48E1's post-adder absorbs */
#define XC_CARRY_PER_ADDER_BIT 0.0734
#define XC_DSP_OPERAND_BITS 43.0          /* 25 + 18: one DSP48E1 per multiplier up to this */

#define ICE_LUT_PER_ADDER_BIT 1.2622
#define ICE_LUT_PER_PP_BIT 1.1256
#define ICE_CARRY_PER_ADDER_BIT 0.2149

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

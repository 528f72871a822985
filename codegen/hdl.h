/* codegen/hdl.h — hardware from an integer program (intprog.h): synthesizable Verilog-2005
 * with its testbench (verilog.c), bit-accurate C99 with its driver (cemit.c), and the
 * per-element bounds both take their widths from (intprog.c, cg_int_elem_bounds).
 *
 * The design computes exactly what rt_int_run computes (runtime/intexec.c), code for code,
 * except the one float->int step: the design's input port takes the codes of the program's
 * first value (the IP_QUANT step's result), and its output port gives the logits' codes
 * (value = code * 2^-frac, not dequantized).  Every traced node of the program (IntProg.nodes)
 * is one "layer" of the design: one Verilog module, one C block, one line of a trace.
 *
 * The trace text both testbenches write (and hw/verify.c reads), one line per record:
 *   o SAMPLE V0 V1 ... V(n-1)          the output codes of sample SAMPLE (decimal, signed)
 *   t LAYER SAMPLE V0 ... V(n-1)       layer LAYER's codes for sample SAMPLE (only when asked
 *                                      for that sample: Verilog +trace=SAMPLE, C argv[3])
 * Input vectors: inputs.hex for the Verilog testbench ($readmemh, one packed input vector
 * per line, element j at bits [j*W +: W], W = CgHwDesign.in_width, two's complement), and
 * inputs.txt for the C driver (one sample per line, decimal codes separated by spaces). */
#ifndef JSCC_CODEGEN_HDL_H
#define JSCC_CODEGEN_HDL_H

#include "intprog.h"

/* ==== intprog.c: per-element bounds ==== */

/* Worst-case bounds of every element of every value of p, from the formats' ranges and the
 * actual constant codes (a matvec output's bound from its own weight row), never wider than
 * IpVal's per-value bounds.  lo[v][j], hi[v][j]: value v, element j; exact integers. */
typedef struct IpBounds {
  double **lo, **hi;  /* [p->nvals][vals[v].n] */
  int nvals;
} IpBounds;
Status cg_int_elem_bounds(const IntProg *p, IpBounds **out, Diag *d);
void cg_int_bounds_free(IpBounds *b);

/* ==== verilog.c: the design and its testbench ==== */

typedef struct CgHwOpts {
  const char *top;    /* the top module's name (a Verilog identifier); the layers' modules are
                         TOP_<layer> */
  int pipeline;       /* register stages between input and output: 0 combinational (valid_out
                         is valid_in), N >= 1 N registers, the last at the output, the others
                         placed to balance the logic depth between them */
  int shift_add_max;  /* a constant multiply whose canonical signed digit form has at most this
                         many nonzero digits is written as shifts and adds, else as a `*` by the
                         constant (which synthesis may map to a DSP); default 3 when 0 */
} CgHwOpts;

/* One layer of the design: a traced node of the program. */
typedef struct CgHwLayer {
  const char *name;   /* the node's name (IntProg.nodes[k].node->name) */
  const char *module; /* its Verilog module's name (owned by the design) */
  int node;           /* index into IntProg.nodes */
  int n;              /* elements */
  int width;          /* the widest element's bits (sign included): the trace slices */
  int stage;          /* registers between the input port and this layer's output: during the
                         cycle sample s is at the input, this layer's output holds sample
                         s - stage */
  int64_t adders;     /* two-input adders and subtractors (the adder trees, shift-and-add) */
  int64_t adder_bits; /* the sum of their widths */
  int64_t multipliers;/* `*` by a constant, kept as such */
  int64_t mult_bits;  /* the sum of their operand widths (a + constant) */
  int64_t reg_bits;   /* flip-flops of this layer's registers */
} CgHwLayer;

typedef struct CgHwDesign {
  StrBuf verilog;     /* the design: the layers' modules, then the top module */
  char *top;          /* the top module's name (owned) */
  int latency;        /* cycles from valid_in to valid_out (= pipeline) */
  int in_n, in_width, in_frac;    /* the input port: in_n elements of in_width bits */
  int out_n, out_width, out_frac; /* the output port */
  CgHwLayer *layers;  /* [nlayers] in program order */
  int nlayers;
} CgHwDesign;

/* Render p as Verilog-2005.  The top module's ports:
 *   input clk, input rst (synchronous, active high: clears the valid pipeline), input valid_in,
 *   input [in_n*in_width-1:0] x, output valid_out, output [out_n*out_width-1:0] y.
 * Every wire is as wide as cg_int_elem_bounds says its element needs.  Refused, with a
 * message: a pipeline deeper than the design has places for registers. */
Status cg_verilog_render(const IntProg *p, const CgHwOpts *o, CgHwDesign **out, Diag *d);
void cg_hw_design_free(CgHwDesign *h);
/* A testbench module `tb` for h: reads `nsamples` input vectors from inputs.hex (in the
 * working directory), streams one per cycle with valid_in high, writes the `o` lines of the
 * trace text to trace.txt and, given +trace=S, the `t` lines of sample S (every layer, read
 * through hierarchical names at the cycle the layer holds sample S); then $finish. */
void cg_verilog_testbench(StrBuf *sb, const CgHwDesign *h, int64_t nsamples);

/* ==== cemit.c: bit-accurate C99 ==== */

/* Render p as one C99 translation unit with ap_fixed-style arithmetic spelled out: each value
 * typed by its bits, every requantization a named rounding (AP_RND_CONV: half to even,
 * AP_TRN: floor) and saturation (AP_SAT) helper.  It defines
 *   void PREFIX_infer_codes(const int64_t x[IN], int64_t y[OUT], int64_t *trace);
 *   void PREFIX_infer(const float x[IN], float y[OUT]);   (the float input quantized as
 *                                                          IP_QUANT does, logits dequantized)
 * trace (NULL: none) receives every layer's codes, layer after layer (p->trace_width). */
Status cg_c_render(const IntProg *p, const char *prefix, StrBuf *sb, Diag *d);
/* A driver main() for the unit above: `prog inputs.txt trace.txt [SAMPLE]` reads input codes,
 * writes the trace text (`o` lines, and the `t` lines of SAMPLE when given). */
void cg_c_driver(StrBuf *sb, const IntProg *p, const char *prefix);

/* ==== hwcost.c: an analytic resource estimate ==== */

/* LUTs, flip-flops, DSP blocks and carry cells of h as yosys maps it (family: HW_XILINX 0
 * for synth_xilinx, 1 for synth_ice40), from the design's own counts (adders and their
 * bits, multipliers, registers) with coefficients fitted to yosys' results on the bench
 * designs (spec/hw.md states the fit and its error).  Milliseconds for any size: the cost
 * metric a search can afford per trial.  per_layer: [h->nlayers] or NULL. */
typedef struct CgHwCost {
  double lut, ff, dsp, carry;
} CgHwCost;
void cg_hw_estimate(const CgHwDesign *h, int family, CgHwCost *per_layer, CgHwCost *total);

#endif

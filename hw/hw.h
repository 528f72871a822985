/* hw/hw.h — the hardware layer's table of contents: the designs codegen/hdl.h renders, run
 * through the open tools (Verilator, Icarus Verilog, yosys, nextpnr-ice40, the C compiler).
 * Above the runtime (verification compares with its integer executor), below the tools.
 * Every tool is an external program found when jscc was configured (meson option
 * `hdl_tools`) or on PATH; a missing one is reported as such, never as a failure of the
 * design. */
#ifndef JSCC_HW_H
#define JSCC_HW_H

#include "hdl.h"
#include "runtime.h"

/* ==== proc.c: running external programs ==== */

typedef enum HwTool {
  HW_VERILATOR, HW_IVERILOG, HW_VVP, HW_YOSYS, HW_NEXTPNR_ICE40, HW_CC, HW_NTOOLS
} HwTool;
const char *hw_tool_name(HwTool t);  /* "verilator", "iverilog", ... */
/* The program's path: the one found at configure time if it still exists, else the first
 * on PATH; NULL when neither. */
const char *hw_tool_path(HwTool t);
/* Runs argv (argv[0] a path; NULL-terminated) in directory dir, its stdout and stderr
 * appended to the file `log`, for at most timeout_s seconds (0: no limit).  *rc receives its
 * exit status.  An error (with the log's path): it could not start, a signal killed it, or
 * the time ran out (it is then killed with its children). */
Status hw_run(const char *const *argv, const char *dir, const char *log, int timeout_s, int *rc, Diag *d);

/* ==== verify.c: bit for bit against the integer executor ==== */

typedef enum HwSim { HW_SIM_VERILATOR, HW_SIM_ICARUS, HW_SIM_C } HwSim;
typedef struct HwVerifyResult {
  HwSim sim;
  bool ran;           /* false: the tool is not installed (why says so) */
  bool agree;         /* every output vector equal */
  int64_t samples;    /* compared */
  int64_t mismatches; /* samples whose output differs */
  char why[512];      /* not ran: what is missing; a mismatch: the first one, with its sample,
                         layer and element and both codes */
  double seconds;     /* building and running */
} HwVerifyResult;
/* Runs the design of program p named top on the n rows of x and compares every output
 * vector with rt_int_run's: HW_SIM_VERILATOR and HW_SIM_ICARUS simulate DIR/TOP.v (written by
 * the caller) under the testbench of design h (cg_verilog_testbench); HW_SIM_C compiles
 * DIR/TOP.c (cg_c_render's unit, prefix TOP) with its driver (h may be NULL).  Each
 * simulator works in its own subdirectory of dir (verilator/, icarus/, c/), log.txt there.
 * On a mismatch, the first mismatching sample is rerun with its trace to name the first
 * layer and element that differ.  A tool that is not installed is not an error: r->ran is
 * false and r->why says which. */
Status hw_verify(const IntProg *p, const CgHwDesign *h, const char *top, HwSim sim, const char *dir, const float *x,
                 int64_t n, HwVerifyResult *r, Diag *d);
const char *hw_sim_name(HwSim s); /* "verilator", "icarus", "c" */
/* One line of the trace text (codegen/hdl.h). */
typedef struct HwTraceLine {
  char kind;            /* 'o' an output vector, 't' a layer's codes */
  int layer;            /* 't': the IntProg.nodes index; 'o': -1 */
  int64_t sample;       /* >= 0 */
  const int64_t *codes; /* [n], valid during the call */
  int n;
} HwTraceLine;
typedef Status (*HwTraceFn)(void *ud, const HwTraceLine *l, Diag *d);
/* Calls on() for every line of text (empty lines skipped); a malformed line is an error
 * naming path:line.  The parser the fuzzer drives. */
Status hw_trace_parse(const char *text, size_t len, const char *path, HwTraceFn on, void *ud, Diag *d);

/* ==== synth.c: yosys and nextpnr ==== */

typedef enum HwFamily { HW_XILINX, HW_ICE40 } HwFamily;
typedef struct HwCounts {
  int64_t lut, ff, dsp, carry; /* LUTs (any size), flip-flops, DSP blocks, carry cells
                                  (CARRY4/CARRY8 on Xilinx, SB_CARRY on iCE40) */
} HwCounts;
typedef struct HwSynthResult {
  HwFamily family;
  HwCounts total;
  HwCounts *layer;    /* [nlayers] per layer module (CgHwDesign.layers order) */
  int nlayers;
  HwCounts estimate;  /* cg_hw_estimate's totals, for comparison */
  char part[32];      /* iCE40: the part placed on ("hx8k-ct256"), "" when none fits */
  double fmax_mhz;    /* iCE40: nextpnr's Fmax; 0 when not placed */
  double latency_ns;  /* latency cycles / Fmax; a combinational design (latency 0): one period of
                         the registered wrapper nextpnr timed (input to output, plus a register's
                         clock-to-out and setup); 0 when not placed */
  double seconds;     /* yosys and nextpnr */
} HwSynthResult;
/* Synthesizes h (DIR/TOP.v, written by the caller) with yosys' synth_xilinx or synth_ice40,
 * keeping the layer modules apart, and for iCE40 places and routes it with nextpnr-ice40 on
 * the smallest part it fits.  Logs and scripts stay in dir. */
Status hw_synth(const CgHwDesign *h, HwFamily fam, const char *dir, int timeout_s, HwSynthResult *r, Diag *d);
void hw_synth_free(HwSynthResult *r);
/* The readers of yosys' and nextpnr's reports behind hw_synth, public so that tests and the
 * fuzzer can feed them text without the tools installed. */
/* Cell counts from the text of yosys' `stat -top TOP`: the block of each module named in
 * modules[0..n) into per[i] (NULL when n is 0), and the "design hierarchy" block (the top with
 * everything below it) into *total, or the top module's own block when the report has no
 * hierarchy block (nothing below the top).  Cells are classed by family (HwCounts);
 * other cells (IO buffers, MUXF7, the submodules' instances) are not counted.  A layer module
 * the report lacks counts zero (yosys removes a module left without cells: a layer of wires
 * only); JS_ERR when it lacks the top. */
Status hw_parse_stat(const char *text, HwFamily fam, const char *top, const char *const *modules, int n,
                     HwCounts *per, HwCounts *total, Diag *d);
/* The last "Max frequency for clock ...: F MHz" of a nextpnr log with F finite and positive, in
 * MHz; 0 when none. */
double hw_parse_fmax(const char *text);
/* The last line of text starting with "ERROR:" (yosys, nextpnr), else its last non-blank
 * line, copied into buf (cap bytes, cut to fit); "" for empty text. */
void hw_last_error(const char *text, char *buf, size_t cap);

#endif

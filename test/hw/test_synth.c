/* test_synth.c — synthesis (hw/synth.c) and the estimate (codegen/hwcost.c): the readers of
 * yosys' `stat` and nextpnr's log on reports captured from test/data/hw/mac2.v (no tools
 * needed), then hw_synth on that design for both families (skipped without yosys, the iCE40
 * one without nextpnr-ice40): the layer modules counted apart, flip-flops equal to the
 * register bits, an Fmax and a part for iCE40. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hw.h"
#include "../codegen/fixture.h"


static char dir[64];

/* mac2.v as codegen/verilog.c would describe it: fc1 has 11 adders of 12 bits and 36
 * register bits, fc2 4 adders of 16 bits and 2 multipliers by constants (12 + 8 and 12 + 7
 * operand bits); one register stage. */
static CgHwLayer mac2_layers[] = {
  {.name = "fc1", .module = "mac2_fc1", .node = 1, .n = 3, .width = 12, .stage = 1, .adders = 11,
   .adder_bits = 132, .reg_bits = 36},
  {.name = "fc2", .module = "mac2_fc2", .node = 2, .n = 2, .width = 16, .stage = 1, .adders = 4,
   .adder_bits = 64, .multipliers = 2, .mult_bits = 39},
};
static CgHwDesign mac2 = {.top = "mac2", .latency = 1, .in_n = 4, .in_width = 8, .out_n = 2, .out_width = 16,
                          .layers = mac2_layers, .nlayers = 2};
static const char *const mac2_modules[] = {"mac2_fc1", "mac2_fc2"};

static void assert_counts(HwCounts c, int64_t lut, int64_t ff, int64_t dsp, int64_t carry) {
  assert_int_equal(c.lut, lut);
  assert_int_equal(c.ff, ff);
  assert_int_equal(c.dsp, dsp);
  assert_int_equal(c.carry, carry);
}

static void test_parse_stat(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, NULL);
  HwCounts per[2], total;
  char *x = tl_read("test/data/hw/mac2_xilinx.stat", NULL), *i = tl_read("test/data/hw/mac2_ice40.stat", NULL);
  assert_true(x && i);
  assert_int_equal(hw_parse_stat(x, HW_XILINX, "mac2", mac2_modules, 2, per, &total, &d), JS_OK);
  assert_counts(per[0], 157, 36, 0, 9); /* LUT2..LUT6 14 + 18 + 9 + 22 + 94; MUXF7/8 not */
  assert_counts(per[1], 30, 0, 2, 8);
  assert_counts(total, 187, 37, 2, 17); /* the hierarchy: the top's valid FDRE added */
  assert_int_equal(hw_parse_stat(i, HW_ICE40, "mac2", mac2_modules, 2, per, &total, &d), JS_OK);
  assert_counts(per[0], 171, 36, 0, 28);
  assert_counts(per[1], 290, 0, 0, 24);
  assert_counts(total, 461, 37, 0, 52); /* SB_DFF 36 + SB_DFFSR 1 */
  assert_int_equal(d.nerrors, 0);
  /* a layer module yosys removed (no cells left) counts zero; the rest as before */
  const char *const gone[] = {"mac2_fc1", "mac2_fc3"};
  assert_int_equal(hw_parse_stat(x, HW_XILINX, "mac2", gone, 2, per, &total, &d), JS_OK);
  assert_counts(per[0], 157, 36, 0, 9);
  assert_counts(per[1], 0, 0, 0, 0);
  assert_counts(total, 187, 37, 2, 17);
  assert_int_equal(hw_parse_stat("", HW_XILINX, "mac2", NULL, 0, NULL, &total, &d), JS_ERR);
  free(x);
  free(i);
  diag_free(&d);
}

/* A top with nothing below it has no hierarchy block: its own block is the total. */
static void test_parse_flat(void **state) {
  (void)state;
  const char *text = "\n=== t ===\n\n   Number of wires:   3\n   Number of cells:   4\n"
                     "     SB_LUT4   2\n     SB_DFFE   1\n     SB_MAC16   1\n\n";
  HwCounts total;
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(hw_parse_stat(text, HW_ICE40, "t", NULL, 0, NULL, &total, &d), JS_OK);
  assert_counts(total, 2, 1, 1, 0);
  diag_free(&d);
}

static void test_parse_nextpnr(void **state) {
  (void)state;
  char *log = tl_read("test/data/hw/mac2_nextpnr.log", NULL);
  assert_non_null(log);
  assert_float_equal(hw_parse_fmax(log), 98.04, 1e-9); /* the last of the two: after routing */
  assert_float_equal(hw_parse_fmax("Info: no clocks\n"), 0, 0);
  char last[128];
  hw_last_error("a\nERROR: first\nb\nERROR: Module `x' not found!\nc\n\n", last, sizeof last);
  assert_string_equal(last, "ERROR: Module `x' not found!");
  hw_last_error("one\ntwo\n  \n", last, sizeof last);
  assert_string_equal(last, "two");
  free(log);
}

/* The analytic estimate on mac2: flip-flops and DSPs exact, and the design's LUTs within 50%
 * of what yosys made of it (the captured reports).  mac2 is hand-written, not one of the
 * renderer's designs the coefficients were fitted on (codegen/hwcost.c gives the fit's
 * errors: per design 14% mean and 36% at most on Xilinx, 7% at most on iCE40). */
static void test_estimate(void **state) {
  (void)state;
  CgHwCost per[2], total;
  cg_hw_estimate(&mac2, HW_XILINX, per, &total);
  assert_float_equal(per[0].ff, 36, 0);
  assert_float_equal(total.ff, 37, 0); /* + the valid bit */
  assert_float_equal(per[1].dsp, 2, 0);
  assert_float_equal(total.dsp, 2, 0);
  assert_float_equal(total.lut, 187, 0.5 * 187);
  assert_true(per[0].carry > 0 && per[1].carry > 0);
  cg_hw_estimate(&mac2, HW_ICE40, per, &total);
  assert_float_equal(total.lut, 461, 0.5 * 461);
  assert_float_equal(total.dsp, 0, 0);
  assert_float_equal(total.lut, per[0].lut + per[1].lut, 1e-9);
  CgHwDesign empty = {.top = "e", .latency = 0};
  cg_hw_estimate(&empty, HW_XILINX, NULL, &total);
  assert_float_equal(total.lut + total.ff + total.dsp + total.carry, 0, 0);
}

static int setup_dir(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/jscc_hw_synth_XXXXXX");
  if (!mkdtemp(dir)) return -1;
  char cmd[160];
  snprintf(cmd, sizeof cmd, "cp test/data/hw/mac2.v test/data/hw/comb1.v '%s'/", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static int teardown_dir(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* What both families must give for mac2: every layer counted, LUTs in each, flip-flops equal
 * to the register bits (36 in fc1, the valid bit in the top), the estimate filled in. */
static void check_mac2(const HwSynthResult *r) {
  assert_int_equal(r->nlayers, 2);
  assert_true(r->layer[0].lut > 0 && r->layer[1].lut > 0);
  assert_int_equal(r->layer[0].ff, 36);
  assert_int_equal(r->layer[1].ff, 0);
  assert_int_equal(r->total.ff, 37);
  assert_true(r->total.lut >= r->layer[0].lut + r->layer[1].lut);
  assert_true(r->total.carry > 0);
  assert_int_equal(r->estimate.ff, 37);
  assert_true(r->estimate.lut > 0);
  assert_true(r->seconds > 0);
}

static void test_synth_xilinx(void **state) {
  (void)state;
  if (!hw_tool_path(HW_YOSYS)) skip();
  Diag d;
  diag_init(&d, stderr);
  HwSynthResult r;
  assert_int_equal(hw_synth(&mac2, HW_XILINX, dir, 120, &r, &d), JS_OK);
  check_mac2(&r);
  assert_int_equal(r.layer[1].dsp, 2); /* synth_xilinx maps both `*` to DSP48E1 */
  assert_int_equal(r.total.dsp, 2);
  assert_string_equal(r.part, "");
  assert_float_equal(r.fmax_mhz, 0, 0);
  printf("xilinx: %lld LUT %lld FF %lld DSP %lld CARRY4 (estimate %lld %lld %lld %lld) in %.1f s\n",
         (long long)r.total.lut, (long long)r.total.ff, (long long)r.total.dsp, (long long)r.total.carry,
         (long long)r.estimate.lut, (long long)r.estimate.ff, (long long)r.estimate.dsp,
         (long long)r.estimate.carry, r.seconds);
  hw_synth_free(&r);
  diag_free(&d);
}

static void test_synth_ice40(void **state) {
  (void)state;
  if (!hw_tool_path(HW_YOSYS) || !hw_tool_path(HW_NEXTPNR_ICE40)) skip();
  Diag d;
  diag_init(&d, stderr);
  HwSynthResult r;
  assert_int_equal(hw_synth(&mac2, HW_ICE40, dir, 120, &r, &d), JS_OK);
  check_mac2(&r);
  assert_int_equal(r.total.dsp, 0);
  assert_string_equal(r.part, "hx1k-tq144"); /* ~500 logic cells and 68 pins */
  assert_true(r.fmax_mhz > 10 && r.fmax_mhz < 1000);
  assert_float_equal(r.latency_ns, 1000.0 / r.fmax_mhz, 1e-9);
  printf("ice40: %lld LUT %lld FF %lld CARRY (estimate %lld %lld %lld) on %s at %.2f MHz in %.1f s\n",
         (long long)r.total.lut, (long long)r.total.ff, (long long)r.total.carry, (long long)r.estimate.lut,
         (long long)r.estimate.ff, (long long)r.estimate.carry, r.part, r.fmax_mhz, r.seconds);
  hw_synth_free(&r);
  diag_free(&d);
}

/* A combinational design (latency 0) is timed between the wrapper's registers: its latency
 * is that one period, the input-to-output delay. */
static void test_synth_combinational(void **state) {
  (void)state;
  if (!hw_tool_path(HW_YOSYS) || !hw_tool_path(HW_NEXTPNR_ICE40)) skip();
  CgHwLayer fc1 = {.name = "fc1", .module = "comb1_fc1", .n = 3, .width = 12, .adders = 11, .adder_bits = 132};
  CgHwDesign comb1 = {.top = "comb1", .latency = 0, .in_n = 4, .in_width = 8, .out_n = 3, .out_width = 12,
                      .layers = &fc1, .nlayers = 1};
  Diag d;
  diag_init(&d, stderr);
  HwSynthResult r;
  assert_int_equal(hw_synth(&comb1, HW_ICE40, dir, 120, &r, &d), JS_OK);
  assert_int_equal(r.total.ff, 0);
  assert_true(r.layer[0].lut > 0);
  assert_int_equal(r.total.lut, r.layer[0].lut); /* the top adds no logic */
  assert_true(r.fmax_mhz > 10);
  assert_float_equal(r.latency_ns, 1000.0 / r.fmax_mhz, 1e-9);
  printf("comb1 (ice40): %lld LUT on %s, %.2f ns\n", (long long)r.total.lut, r.part, r.latency_ns);
  hw_synth_free(&r);
  diag_free(&d);
}

/* A yosys failure names the log and quotes yosys' error line. */
static void test_synth_error(void **state) {
  (void)state;
  if (!hw_tool_path(HW_YOSYS)) skip();
  CgHwDesign bad = mac2;
  bad.top = "nosuchtop"; /* nosuchtop.v does not exist */
  Diag d;
  diag_init(&d, NULL);
  HwSynthResult r;
  assert_int_equal(hw_synth(&bad, HW_XILINX, dir, 60, &r, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "yosys failed"));
  assert_non_null(strstr(sb_str(&d.text), "ERROR:"));
  assert_non_null(strstr(sb_str(&d.text), "nosuchtop_xilinx_yosys.log"));
  hw_synth_free(&r);
  bad.top = "a;b";
  assert_int_equal(hw_synth(&bad, HW_XILINX, dir, 60, &r, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "not a plain Verilog identifier"));
  hw_synth_free(&r);
  diag_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_stat),   cmocka_unit_test(test_parse_flat),  cmocka_unit_test(test_parse_nextpnr),
    cmocka_unit_test(test_estimate),     cmocka_unit_test(test_synth_xilinx), cmocka_unit_test(test_synth_ice40),
    cmocka_unit_test(test_synth_combinational), cmocka_unit_test(test_synth_error),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}

/* test_cost.c — pass_quant_cost and the `cost` pass (passes/cost.c, spec/quant.md "Cost metrics").
 *
 * Every expected number below was computed by hand from the formulas of the spec, not by the
 * code: MASE's average bitwidth over quantized layers, Hawks et al.'s BOPs
 * m n (p b_a b_w + b_a + b_w + log2 n), and the LUT count (LogicNets' table for small fan-in,
 * constant multipliers and an adder tree otherwise).  The pass's table is a golden file
 * (test/golden/jsc_big.cost.txt; JSCC_UPDATE_GOLDEN=1 rewrites it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "th.h"
#include "tlib.h"


/* A config string for quantize{by=name, NODE=...}: integer, data_in ba, weight bw, bias 8,
 * data_out y (0: none). */
static void quantize_node(Graph *g, const char *node, int ba, int bw, int y) {
  char pipe[512], out[96] = "";
  if (y) snprintf(out, sizeof out, ", data_out_width=%d, data_out_frac_width=0", y);
  snprintf(pipe, sizeof pipe,
           "quantize{by=name, %s={name=integer, data_in_width=%d, data_in_frac_width=1, weight_width=%d, "
           "weight_frac_width=1, bias_width=8, bias_frac_width=1%s}}",
           node, ba, bw, out);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(pass_run_text(pipe, g, &d), JS_OK);
  diag_free(&d);
}

static PassQuantCost cost_of(Graph *g, const PassData *data) {
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(pass_run_text("shape", g, &d), JS_OK);
  PassQuantCost c;
  assert_int_equal(pass_quant_cost(g, data, &c, &d), JS_OK);
  diag_free(&d);
  return c;
}

/* Linear(4,3) -> ReLU -> Linear(3,2). */
static Graph *small(void) { return th_build_seq("small", 4, "L4,3 ReLU L3,2"); }

/* Nothing quantized: 32 bits everywhere.  Layer 0: m 3, n 4: 3*4*(1024 + 64 + 2) = 13080;
 * layer 2: m 2, n 3: 6*(1088 + log2 3).  LUTs: A = 64 + ceil(log2 n), X > 12:
 * layer 0: 3*(4*1024/2 + (4 - 1 + 1)*66) = 3*(2048 + 264) = 6936;
 * layer 2: 2*(3*1024/2 + 3*66) = 2*(1536 + 198) = 3468. */
static void test_float_model(void **state) {
  (void)state;
  Graph *g = small();
  PassQuantCost c = cost_of(g, NULL);
  assert_true(c.average_bitwidth == 32.0);
  assert_true(fabs(c.bops - (13080 + 6 * (1088 + log2(3)))) < 1e-9);
  assert_true(c.lut_estimate == 6936 + 3468);
  assert_int_equal(c.weights, 12 + 6);
  ir_graph_free(g);
}

/* Only layer 0 quantized, b_a 4, b_w 2: average over quantized layers = 2 (MASE counts the
 * quantized layers only).  bops: 3*4*(4*2 + 4 + 2 + 2) = 192, plus layer 2's float cost.
 * LUTs layer 0: A = 4 + 2 + 2 = 8, X = 16: 3*(4*4*2/2 + 4*8) = 3*48 = 144. */
static void test_partially_quantized(void **state) {
  (void)state;
  Graph *g = small();
  quantize_node(g, "seq_blocks_0", 4, 2, 0);
  PassQuantCost c = cost_of(g, NULL);
  assert_true(c.average_bitwidth == 2.0);
  assert_true(fabs(c.bops - (192 + 6 * (1088 + log2(3)))) < 1e-9);
  assert_true(c.lut_estimate == 144 + 3468);
  /* and layer 2 at b_a 6, b_w 8: (12*2 + 6*8) / (12 + 6) = 4 */
  quantize_node(g, "seq_blocks_2", 6, 8, 0);
  c = cost_of(g, NULL);
  assert_true(c.average_bitwidth == 4.0);
  /* layer 2: 2*3*(48 + 14 + log2 3); LUTs: A = 6 + 8 + 2 = 16, X = 18: 2*(3*48/2 + 3*16) = 240 */
  assert_true(fabs(c.bops - (192 + 6 * (62 + log2(3)))) < 1e-9);
  assert_true(c.lut_estimate == 144 + 240);
  ir_graph_free(g);
}

/* A bypassed node is not quantized: MASE skips it too. */
static void test_bypass_is_float(void **state) {
  (void)state;
  Graph *g = small();
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(pass_run_text("quantize{by=type, linear={name=integer, bypass=true, data_in_width=4, "
                                 "data_in_frac_width=1, weight_width=2, weight_frac_width=1}}",
                                 g, &d),
                   JS_OK);
  diag_free(&d);
  PassQuantCost c = cost_of(g, NULL);
  assert_true(c.average_bitwidth == 32.0);
  ir_graph_free(g);
}

/* Weights: layer 0's weight values quantized to fixed[2,1] (codes -2..1, step 0.5): 0.2 -> 0,
 * 0.1 -> 0, -0.2 -> 0 (|x| < 0.25) and the others non-zero: 9 of 12 kept, p = 0.75.
 * bops 3*4*(0.75*8 + 8) = 168; LUTs 3*(0.75*4*4*2/2 + (3 - 1 + 1)*8) = 3*36 = 108. */
static const float w0[12] = {0.2f, 0.1f, -0.2f, 0.5f, 1.0f, -1.0f, 0.4f, -0.4f, 0.3f, 0.7f, -0.7f, 0.5f};
static const float any[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

static const float *param_values(void *ud, const Param *p) {
  (void)ud;
  if (strcmp(p->qualname, "seq_blocks.0.weight") == 0) return w0;
  return strcmp(p->qualname, "seq_blocks.2.weight") == 0 ? NULL : any; /* layer 2: unknown, p = 1 */
}

static void test_nonzero_weights(void **state) {
  (void)state;
  Graph *g = small();
  quantize_node(g, "seq_blocks_0", 4, 2, 0);
  quantize_node(g, "seq_blocks_2", 6, 8, 0);
  PassData data = {.param = param_values};
  PassQuantCost c = cost_of(g, &data);
  assert_true(fabs(c.bops - (168 + 6 * (62 + log2(3)))) < 1e-9);
  assert_true(c.lut_estimate == 108 + 240);
  assert_true(c.average_bitwidth == 4.0); /* widths only */
  ir_graph_free(g);
}

/* Small fan-in: Linear(2,1) at b_a 4 reads X = 8 bits; data_out 2 bits: LogicNets' table
 * (2/3)(2^4 - 1) = 10 LUTs, cheaper than arith (b_w 4: 2*16/2 + 2*(4 + 4 + 1) = 34).
 * At b_a 3 (X = 6) the table is one LUT6 per output bit: 2. */
static void test_logicnets_table(void **state) {
  (void)state;
  Graph *g = th_build_seq("tiny_fanin", 2, "L2,1");
  quantize_node(g, "seq_blocks_0", 4, 4, 2);
  PassQuantCost c = cost_of(g, NULL);
  assert_true(fabs(c.lut_estimate - 10) < 1e-9);
  assert_true(fabs(c.bops - 2 * (16 + 8 + 1)) < 1e-9);
  quantize_node(g, "seq_blocks_0", 3, 4, 2);
  c = cost_of(g, NULL);
  assert_true(c.lut_estimate == 2);
  /* without data_out, Y = A = 3 + 4 + 1 = 8 bits: table 8, arith 2*12/2 + 2*8 = 28 */
  quantize_node(g, "seq_blocks_0", 3, 4, 0);
  c = cost_of(g, NULL);
  assert_true(c.lut_estimate == 8);
  ir_graph_free(g);
}

/* conv1d: Conv1d(4, 6, 3, stride=1, padding=1) on [B, 4, 8]: m = 6 * 8 outputs per sample,
 * n = 4 * 3 taps each; b_a 4, b_w 4: bops 48*12*(16 + 8 + log2 12); LUTs: A = 4 + 4 + 4 = 12,
 * X = 48: 48*(12*16/2 + 12*12) = 48*240 = 11520; MASE's in*out = 4*6 at 4 bits. */
static void test_conv1d(void **state) {
  (void)state;
  Graph *g = ir_graph_new("conv");
  Node *x = th_input(g, "x", "f32[B,4,8]");
  int64_t a[5] = {4, 6, 3, 1, 1};
  th_module(g, NULL, "conv", "Conv1d", 5, a);
  Value arg = val_node(x);
  th_output(g, th_node(g, OP_CALL_MODULE, "conv", 1, &arg));
  quantize_node(g, "conv", 4, 4, 0);
  PassQuantCost c = cost_of(g, NULL);
  assert_true(fabs(c.bops - 48 * 12 * (24 + log2(12))) < 1e-9);
  assert_true(c.lut_estimate == 11520);
  assert_true(c.average_bitwidth == 4.0);
  assert_int_equal(c.weights, 6 * 4 * 3);
  ir_graph_free(g);
}

static void test_unshaped_refused(void **state) {
  (void)state;
  Graph *g = small();
  Diag d;
  diag_init(&d, NULL);
  PassQuantCost c;
  assert_int_equal(pass_quant_cost(g, NULL, &c, &d), JS_ERR);
  assert_contains(sb_str(&d.text), "cost: node 'seq_blocks_0': its result has no type (run `shape` first)");
  diag_free(&d);
  ir_graph_free(g);
}

/* The pass over JSC_Big, its first layer at 4 bits, the others at 8 and the last one float:
 * the table is golden; its totals are pass_quant_cost's. */
static void test_pass_table(void **state) {
  (void)state;
  Graph *g = th_jsc_big();
  quantize_node(g, "seq_blocks_2", 4, 4, 0);
  quantize_node(g, "seq_blocks_5", 8, 8, 0);
  quantize_node(g, "seq_blocks_8", 8, 6, 0);
  StrBuf r;
  sb_init(&r);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(th_run(g, "cost", &r, &d), JS_OK);
  PassQuantCost c;
  assert_int_equal(pass_quant_cost(g, NULL, &c, &d), JS_OK);
  /* (16*32*4 + 32*16*8 + 16*8*6) / (512 + 512 + 128) = 6912 / 1152 = 6 */
  assert_true(c.average_bitwidth == 6.0);
  char totals[256];
  snprintf(totals, sizeof totals, "average bitwidth 6, %.0f bit operations per sample, about %.0f LUTs, 1192 weights",
           c.bops, c.lut_estimate);
  assert_contains(sb_str(&r), totals);
  tl_check_golden("jsc_big.cost.txt", sb_str(&r));
  sb_free(&r);
  diag_free(&d);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_float_model),     cmocka_unit_test(test_partially_quantized),
      cmocka_unit_test(test_bypass_is_float), cmocka_unit_test(test_nonzero_weights),
      cmocka_unit_test(test_logicnets_table), cmocka_unit_test(test_unshaped_refused),
      cmocka_unit_test(test_conv1d),
      cmocka_unit_test(test_pass_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
